package main

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// writeJSON prints v as one indented JSON document.
//
// This is a small encoder for the CLI's own records (structs with json
// tags, slices, string maps, numbers, strings, booleans, pointers) rather
// than encoding/json, which would add about 190 KB to a binary meant for
// small hosts; reflect is in the binary anyway, for fmt.
func writeJSON(w io.Writer, v any) error {
	bw := bufio.NewWriter(w)
	e := jsonEncoder{w: bw}
	e.value(reflect.ValueOf(v), 0)
	bw.WriteByte('\n')
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

type jsonEncoder struct {
	w   *bufio.Writer
	err error
}

func (e *jsonEncoder) indent(depth int) {
	e.w.WriteByte('\n')
	for range depth {
		e.w.WriteString("  ")
	}
}

func (e *jsonEncoder) value(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Invalid:
		e.w.WriteString("null")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.w.WriteString("null")
			return
		}
		e.value(v.Elem(), depth)
	case reflect.Struct:
		e.object(structFields(v), depth)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			e.err = fmt.Errorf("json: map key of type %s", v.Type().Key())
			return
		}
		keys := v.MapKeys()
		fields := make([]jsonField, 0, len(keys))
		for _, k := range keys {
			fields = append(fields, jsonField{k.String(), v.MapIndex(k)})
		}
		sortFields(fields)
		e.object(fields, depth)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			e.w.WriteString("null")
			return
		}
		if v.Len() == 0 {
			e.w.WriteString("[]")
			return
		}
		e.w.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				e.w.WriteByte(',')
			}
			e.indent(depth + 1)
			e.value(v.Index(i), depth+1)
		}
		e.indent(depth)
		e.w.WriteByte(']')
	case reflect.String:
		e.string(v.String())
	case reflect.Bool:
		e.w.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.w.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.w.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		e.w.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	default:
		e.err = fmt.Errorf("json: value of kind %s", v.Kind())
	}
}

type jsonField struct {
	name  string
	value reflect.Value
}

func sortFields(fields []jsonField) {
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && fields[j].name < fields[j-1].name; j-- {
			fields[j], fields[j-1] = fields[j-1], fields[j]
		}
	}
}

func (e *jsonEncoder) object(fields []jsonField, depth int) {
	if len(fields) == 0 {
		e.w.WriteString("{}")
		return
	}
	e.w.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			e.w.WriteByte(',')
		}
		e.indent(depth + 1)
		e.string(f.name)
		e.w.WriteString(": ")
		e.value(f.value, depth+1)
	}
	e.indent(depth)
	e.w.WriteByte('}')
}

// structFields lists the exported fields of a struct as encoding/json
// would: by their json tag, "-" skipped, omitempty honoured, and the
// fields of an embedded struct in place of it.
func structFields(v reflect.Value) []jsonField {
	var fields []jsonField
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		fv := v.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			fields = append(fields, structFields(fv)...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		if opts == "omitempty" && fv.IsZero() || opts == "omitempty" && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
			continue
		}
		fields = append(fields, jsonField{name, fv})
	}
	return fields
}

func (e *jsonEncoder) string(s string) {
	e.w.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				e.w.WriteByte('\\')
				e.w.WriteByte(c)
			case c < 0x20:
				fmt.Fprintf(e.w, `\u%04x`, c)
			default:
				e.w.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			e.w.WriteString(`\ufffd`)
		} else {
			e.w.WriteString(s[i : i+size])
		}
		i += size
	}
	e.w.WriteByte('"')
}
