// Package ringbuf reads what BPF programs write to a BPF_MAP_TYPE_RINGBUF
// map with bpf_ringbuf_output or bpf_ringbuf_reserve and _submit.
//
// A Reader maps the ring into the process and waits on the map's fd with
// epoll, so a record is copied once, from shared memory into the Record,
// with no syscall while records keep coming. Records arrive in the order
// they were reserved, across all CPUs; discarded ones are skipped. The
// Reader holds its own fd of the map: it outlives a Destroy of the map
// and the Close of its Object, and must be closed itself.
//
//	rd, err := ringbuf.NewReader(obj.Map("events_rb")) // a live map
//	if err != nil { ... }
//	defer rd.Close()
//	var rec ringbuf.Record
//	for {
//		if err := rd.ReadInto(&rec); errors.Is(err, ringbuf.ErrClosed) {
//			return
//		} else if err != nil { ... }
//		handle(rec.RawSample) // valid until the next ReadInto
//	}
//
// The API is cilium/ebpf's ringbuf: Read, ReadInto, SetDeadline, Close
// that interrupts a blocked Read with ErrClosed (os.ErrClosed).
package ringbuf
