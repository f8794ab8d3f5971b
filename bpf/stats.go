package bpf

import "time"

// Stats is where an Object's time went, summed over its life: what
// `rawload bench` breaks a load down into. Verification is nearly all of
// a heavy load; the rest is what the loader adds.
type Stats struct {
	// Parse is the part of Open that read the ELF file.
	Parse time.Duration
	// Open is the time Open took: parsing, linking, CO-RE (with the
	// kernel's BTF if this Object was the first to need it), reserving
	// slots and resolving externs.
	Open time.Duration
	// ObjectBTF is the BPF_BTF_LOAD of the object's BTF.
	ObjectBTF time.Duration
	// MapCreate is creating maps and writing their initial contents.
	MapCreate   time.Duration
	MapsCreated int
	// ProgLoad is BPF_PROG_LOAD, summed over every load: the kernel's
	// verification. With parallel loads it exceeds the wall time.
	ProgLoad  time.Duration
	ProgLoads int
	// Restarts counts verifications the kernel began again because a
	// signal interrupted them (EAGAIN).
	Restarts int
}

// Stats returns the Object's time so far.
func (o *Object) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats
	s.ObjectBTF = o.btf.loadTime()
	return s
}
