// Package perf reads what BPF programs write to a
// BPF_MAP_TYPE_PERF_EVENT_ARRAY map with bpf_perf_event_output.
//
// bpf_perf_event_output writes to a perf event of the CPU the program
// runs on, found in the map under that CPU's number (BPF_F_CURRENT_CPU).
// A Reader therefore opens one PERF_COUNT_SW_BPF_OUTPUT event per online
// CPU, maps its ring, stores it in the map, and waits on all of them with
// epoll. When a CPU's ring is full the kernel drops the record and later
// reports how many it dropped: Read returns that as a Record with
// LostSamples set, so losses are counted, never hidden.
//
// The Reader holds its own fd of the map and must be closed itself:
// Close takes its events out of the map and releases every ring.
//
//	rd, err := perf.NewReader(obj.Map("events_perf"), os.Getpagesize()*8)
//	if err != nil { ... }
//	defer rd.Close()
//	var rec perf.Record
//	for {
//		if err := rd.ReadInto(&rec); errors.Is(err, perf.ErrClosed) {
//			return
//		} else if err != nil { ... }
//		if rec.LostSamples > 0 {
//			lost += rec.LostSamples
//			continue
//		}
//		handle(rec.CPU, rec.RawSample) // valid until the next ReadInto
//	}
//
// The API is cilium/ebpf's perf: NewReader, NewReaderWithOptions with a
// Watermark, Read, ReadInto, SetDeadline, Close that interrupts a blocked
// Read with ErrClosed (os.ErrClosed).
package perf
