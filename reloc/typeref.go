package reloc

import (
	"bytes"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// typeRef is a BTF type: decoded already, or the id of one in the BTF an
// object passes through (passBTF), decoded only when someone asks for it.
// Loading such an object needs the ids alone; the decoded types serve
// what describes the object (Spec, bindings), which most Opens never ask
// for.
type typeRef struct {
	typ  btf.Type
	id   btf.TypeID
	lazy *lazySpec
}

// get returns the type, decoding it first if it is a passthrough id; nil
// when there is none, or when cilium/ebpf cannot decode the BTF (the
// kernel, which loads it, is the judge of that BTF).
func (r typeRef) get() btf.Type {
	if r.typ != nil || r.lazy == nil || r.id == 0 {
		return r.typ
	}
	spec, err := r.lazy.get()
	if err != nil {
		return nil
	}
	typ, err := spec.TypeByID(r.id)
	if err != nil {
		return nil
	}
	return typ
}

// lazySpec decodes the passthrough BTF with cilium/ebpf the first time
// one of its types is needed. The blob must not change after that.
type lazySpec struct {
	blob []byte
	once sync.Once
	spec *btf.Spec
	err  error
}

// decoded gives s the types already decoded from the same BTF, with the
// same ids, so that they are not decoded twice.
func (s *lazySpec) decoded(spec *btf.Spec) {
	s.once.Do(func() { s.spec = spec })
}

func (s *lazySpec) get() (*btf.Spec, error) {
	s.once.Do(func() {
		s.spec, s.err = btf.LoadSpecFromReader(bytes.NewReader(s.blob))
	})
	return s.spec, s.err
}

// KeyType is the BTF type of the map's keys, nil when unknown.
func (m *MapSpec) KeyType() btf.Type { return m.key.get() }

// ValueType is the BTF type of the map's values, nil when unknown.
func (m *MapSpec) ValueType() btf.Type { return m.value.get() }

// ForgetValueType drops the value's type, for a value size changed from
// the one the type has.
func (m *MapSpec) ForgetValueType() {
	m.value, m.BTFValue = typeRef{}, 0
}

// Type is the variable's BTF type, nil when the object has none.
func (v *Variable) Type() btf.Type { return v.typ.get() }
