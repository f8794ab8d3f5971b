// Package fdtable reserves file descriptor numbers ("slots") for maps before
// any map exists, so that relocated instructions can embed those numbers
// once and never be rewritten.
//
// A slot always refers to something: either the Table's placeholder (an
// empty memfd) or a live object moved in with Install. Because dup3
// replaces what a number refers to atomically, a slot is never a closed
// number that an unrelated open(2) elsewhere in the process could reuse, and
// a program loaded while its map is absent fails cleanly on the
// placeholder instead of resolving a stranger's fd.
//
// The Table only ever operates on numbers it created itself; anything else
// is ErrUnknownSlot. Callers must not close a slot themselves: use Release.
package fdtable
