package perf_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/rawload/rawload/bpf"
	"github.com/rawload/rawload/bpf/perf"
)

// Read every record of a perf event array until the reader is closed,
// counting what the kernel had no room for.
func ExampleReader() {
	obj, err := bpf.Open("events.o", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer obj.Close()
	if err := obj.Load(context.Background()); err != nil {
		log.Fatal(err)
	}
	rd, err := perf.NewReader(obj.Map("events_perf"), 8*os.Getpagesize())
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Close() // from another goroutine, it ends the loop below

	var rec perf.Record
	var lost uint64
	for {
		if err := rd.ReadInto(&rec); errors.Is(err, perf.ErrClosed) {
			return
		} else if err != nil {
			log.Fatal(err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		fmt.Printf("CPU %d: %x\n", rec.CPU, rec.RawSample)
	}
}
