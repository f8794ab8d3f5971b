package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rawload/rawload/bpf"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 100 * time.Millisecond

// terminal returns w when it is a terminal, where a progress line that
// redraws itself makes sense, and nil otherwise (a pipe, a file, a test).
func terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}

// showProgress redraws "loading: N of M programs" on w while obj loads
// total programs, until the returned function is called, which erases
// the line. A nil w shows nothing.
func showProgress(w io.Writer, obj *bpf.Object, total int) (stop func()) {
	if w == nil || total == 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-tick.C:
				fmt.Fprintf(w, "\rloading: %d of %d programs", min(obj.Stats().ProgLoads, total), total)
				shown = true
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
