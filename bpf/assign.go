package bpf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Assign fills the fields of the struct ptr points to from the Object,
// cilium/ebpf's LoadAndAssign idiom: a field of type *Program, *Map or
// *Variable tagged `rawload:"name"` gets the program, map or global
// variable of that name. Untagged fields are left alone. The error names
// every field whose name the Object lacks, and then assigns nothing.
//
//	var objs struct {
//		Count  *bpf.Program  `rawload:"count_calls"`
//		Counts *bpf.Map      `rawload:"counts"`
//		Limit  *bpf.Variable `rawload:"limit"`
//	}
//	if err := obj.Assign(&objs); err != nil { ... }
func (o *Object) Assign(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("object %s: Assign needs a pointer to a struct, not %T", o.name, ptr)
	}
	s := v.Elem()
	var (
		missing []string
		errs    []error
		set     []func()
	)
	for i := range s.NumField() {
		sf := s.Type().Field(i)
		name, ok := sf.Tag.Lookup("rawload")
		if !ok {
			continue
		}
		f := s.Field(i)
		if !sf.IsExported() {
			errs = append(errs, fmt.Errorf("field %s is not exported", sf.Name))
			continue
		}
		var value reflect.Value
		switch f.Interface().(type) {
		case *Program:
			if p := o.Program(name); p != nil {
				value = reflect.ValueOf(p)
			}
		case *Map:
			if m := o.Map(name); m != nil {
				value = reflect.ValueOf(m)
			}
		case *Variable:
			if vr, err := o.Variable(name); err == nil {
				value = reflect.ValueOf(vr)
			}
		default:
			errs = append(errs, fmt.Errorf("field %s (%s) is not a *bpf.Program, *bpf.Map or *bpf.Variable", sf.Name, sf.Type))
			continue
		}
		if !value.IsValid() {
			missing = append(missing, fmt.Sprintf("%s (%s %q)", sf.Name, strings.TrimPrefix(sf.Type.String(), "*bpf."), name))
			continue
		}
		set = append(set, func() { f.Set(value) })
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("not in the object: %s", strings.Join(missing, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		what := "struct"
		if s.Type().Name() != "" {
			what = s.Type().String()
		}
		return fmt.Errorf("object %s: assigning %s: %w", o.name, what, err)
	}
	for _, fn := range set {
		fn()
	}
	return nil
}
