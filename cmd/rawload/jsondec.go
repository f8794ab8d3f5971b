package main

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small, strict JSON decoder for the control protocol's request lines
// and the features file, rather than encoding/json (about 190 KB of
// binary). It decodes one value into:
//
//	object  jsonObject (members in order; a key given twice is an error)
//	array   []any
//	string  string (valid UTF-8 only)
//	number  jsonNumber (its text, checked against the JSON grammar)
//	true, false, null  bool, bool, nil
//
// Nesting is at most jsonMaxDepth deep, so neither the stack nor the
// allocation can grow beyond a bound of the input's size.

// jsonMaxDepth bounds nesting: a features file needs 4 levels.
const jsonMaxDepth = 8

type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

// jsonNumber is a number's text.
type jsonNumber string

// get returns the value of key and whether it is there.
func (o jsonObject) get(key string) (any, bool) {
	for _, m := range o {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// decodeJSON decodes data, which must hold one value and nothing but
// white space around it.
func decodeJSON(data []byte) (any, error) {
	d := jsonDecoder{data: data}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.pos < len(d.data) {
		return nil, d.errorf("data after the JSON value")
	}
	return v, nil
}

type jsonDecoder struct {
	data []byte
	pos  int
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *jsonDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end")
	}
	switch c := d.data[d.pos]; {
	case c == '{' || c == '[':
		if depth >= jsonMaxDepth {
			return nil, d.errorf("nested more than %d deep", jsonMaxDepth)
		}
		if c == '{' {
			return d.object(depth + 1)
		}
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	for _, lit := range []struct {
		text  string
		value any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(d.data)-d.pos >= len(lit.text) && string(d.data[d.pos:d.pos+len(lit.text)]) == lit.text {
			d.pos += len(lit.text)
			return lit.value, nil
		}
	}
	return nil, d.errorf("unexpected %q", d.data[d.pos])
}

func (d *jsonDecoder) object(depth int) (jsonObject, error) {
	d.pos++ // {
	obj := jsonObject{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return obj, nil
	}
	for {
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("want a string key")
		}
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		if _, dup := obj.get(key); dup {
			return nil, d.errorf("key %q given twice", key)
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("want ':' after key %q", key)
		}
		d.pos++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		obj = append(obj, jsonMember{key, v})
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return obj, nil
		default:
			return nil, d.errorf("want ',' or '}' in object")
		}
	}
}

func (d *jsonDecoder) array(depth int) ([]any, error) {
	d.pos++ // [
	arr := []any{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return arr, nil
	}
	for {
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return arr, nil
		default:
			return nil, d.errorf("want ',' or ']' in array")
		}
	}
}

func (d *jsonDecoder) string() (string, error) {
	d.pos++ // "
	var out []byte
	for {
		if d.pos >= len(d.data) {
			return "", d.errorf("unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(out), nil
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c == '\\':
			r, err := d.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", d.errorf("invalid UTF-8 in string")
			}
			out = append(out, d.data[d.pos:d.pos+size]...)
			d.pos += size
		}
	}
}

// escape decodes the escape at d.pos, a \u surrogate pair as one rune.
func (d *jsonDecoder) escape() (rune, error) {
	if d.pos+1 >= len(d.data) {
		return 0, d.errorf("unterminated escape")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return 0, err
		}
		if utf16.IsSurrogate(r) {
			if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
				d.pos += 2
				r2, err := d.hex4()
				if err != nil {
					return 0, err
				}
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					return pair, nil
				}
			}
			return 0, d.errorf("lone UTF-16 surrogate")
		}
		return r, nil
	}
	return 0, d.errorf("invalid escape \\%c", c)
}

func (d *jsonDecoder) hex4() (rune, error) {
	if len(d.data)-d.pos < 4 {
		return 0, d.errorf("short \\u escape")
	}
	n, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 16)
	if err != nil {
		return 0, d.errorf("invalid \\u escape")
	}
	d.pos += 4
	return rune(n), nil
}

// number checks the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonDecoder) number() (jsonNumber, error) {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case digits() == 0:
		return "", d.errorf("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return "", d.errorf("invalid number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return "", d.errorf("invalid number")
		}
	}
	return jsonNumber(d.data[start:d.pos]), nil
}

// errJSONType is a value of the wrong type for its field.
var errJSONType = errors.New("wrong type")

// jsonStrings converts an array of strings.
func jsonStrings(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: want an array of strings", errJSONType)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%w: element %d is not a string", errJSONType, i)
		}
		out[i] = s
	}
	return out, nil
}
