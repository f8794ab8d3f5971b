package ringbuf_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/ringbuf"
)

// Read every record of a ring buffer until the reader is closed, reusing
// one buffer.
func ExampleReader() {
	obj, err := bpf.Open("events.o", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer obj.Close()
	if err := obj.Load(context.Background()); err != nil {
		log.Fatal(err)
	}
	rd, err := ringbuf.NewReader(obj.Map("events_rb"))
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Close() // from another goroutine, it ends the loop below

	var rec ringbuf.Record
	for {
		if err := rd.ReadInto(&rec); errors.Is(err, ringbuf.ErrClosed) {
			return
		} else if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%x\n", rec.RawSample) // valid until the next ReadInto
	}
}
