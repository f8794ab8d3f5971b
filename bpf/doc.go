// Package bpf is rawload's public API and the only place that holds
// lifecycle state.
//
// Open links an object file and reserves one fd slot per map, then patches
// every map reference with its slot number: from then on the instruction
// bytes of each program are final. Maps are created into their slots and
// destroyed back to a placeholder; programs are loaded, unloaded and
// reloaded from the same bytes, from many goroutines at once. A loaded
// program or a live map is a plain fd: nothing is closed by a finalizer.
package bpf
