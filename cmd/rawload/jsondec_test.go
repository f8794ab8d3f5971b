package main

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var jsonSeeds = []string{
	`{"op":"status"}`,
	`{"op":"enable","features":["a","b"]}`,
	`{"op":"resize","map":"hits","max_entries":16}`,
	`{"features": {"trace": [["count_fexit", "count_enter"]], "exits": ["count_exit*"]}}`,
	` { "a" : [ 1 , -2.5e+3 , true , false , null , "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" ] } `,
	`[]`, `{}`, `""`, `0`, `-0.0e0`,
}

// plain turns a decoded value into what encoding/json makes of the same
// text, to compare the two decoders.
func plain(v any) any {
	switch v := v.(type) {
	case jsonObject:
		m := map[string]any{}
		for _, e := range v {
			m[e.key] = plain(e.value)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case jsonNumber:
		return json.Number(v)
	}
	return v
}

// checkAgainstStdlib: what decodeJSON accepts, encoding/json accepts
// with the same value; what it refuses is malformed for encoding/json
// too, or one of its own limits (a key twice, nesting, bad UTF-8).
func checkAgainstStdlib(t *testing.T, data []byte) {
	got, err := decodeJSON(data)
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var want any
	stdErr := dec.Decode(&want)
	if stdErr == nil && dec.More() {
		stdErr = errJSONType
	}
	if err == nil {
		if stdErr != nil {
			t.Fatalf("decodeJSON accepted %q, encoding/json: %v", data, stdErr)
		}
		if !reflect.DeepEqual(plain(got), want) {
			t.Fatalf("decodeJSON(%q) = %#v, encoding/json %#v", data, plain(got), want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		if _, err := decodeJSON([]byte(s)); err != nil {
			t.Errorf("decodeJSON(%q): %v", s, err)
		}
		checkAgainstStdlib(t, []byte(s))
	}
	for _, s := range []string{
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":1 "b":2}`, `{a:1}`, `"\x"`, `"\u12"`, `"\ud800"`,
		`"` + "\x01" + `"`, "\"\xff\"", `01`, `1.`, `.5`, `-`, `1e`, `tru`, `nul`, `{"a":1}{}`, `{"a":1,"a":2}`,
		strings.Repeat("[", jsonMaxDepth+1) + strings.Repeat("]", jsonMaxDepth+1),
	} {
		if v, err := decodeJSON([]byte(s)); err == nil {
			t.Errorf("decodeJSON(%q) = %v, want an error", s, v)
		}
	}
	deep := strings.Repeat("[", jsonMaxDepth) + strings.Repeat("]", jsonMaxDepth)
	if _, err := decodeJSON([]byte(deep)); err != nil {
		t.Errorf("nesting %d deep: %v", jsonMaxDepth, err)
	}
}

// TestDecodeJSONMutations mutates the seeds at random (a fixed seed, so a
// failure repeats): no panic, and agreement with encoding/json.
func TestDecodeJSONMutations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]:,"\ u0123456789abcdef.-+eEtrunlfs` + "\x00\xff\n")
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		data := []byte(jsonSeeds[r.IntN(len(jsonSeeds))])
		for range 1 + r.IntN(4) {
			i := r.IntN(len(data) + 1)
			switch r.IntN(3) {
			case 0: // insert
				data = append(data[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, data[i:]...)...)
			case 1: // delete
				if i < len(data) {
					data = append(data[:i], data[i+1:]...)
				}
			case 2: // replace
				if i < len(data) {
					data[i] = alphabet[r.IntN(len(alphabet))]
				}
			}
		}
		checkAgainstStdlib(t, data)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAgainstStdlib(t, data) })
}

func TestParseFeatures(t *testing.T) {
	defs, err := parseFeatures([]byte(serveFeatures))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 3 || defs[0].Name != "trace" || len(defs[0].Members) != 1 || len(defs[0].Members[0]) != 2 ||
		defs[1].Name != "exits" || defs[1].Members[0][0] != "count_exit*" || len(defs[2].Members) != 2 {
		t.Errorf("parseFeatures: %+v", defs)
	}
	for _, s := range []string{
		`{}`, `{"features": {}}`, `{"features": []}`, `{"features": {"x": []}}`, `{"features": {"x": [[]]}}`,
		`{"features": {"x": [1]}}`, `{"features": {"x": [["a", 1]]}}`, `{"features": {"x": ["a"]}, "more": 1}`,
		`{"features": {"x": "a"}}`,
	} {
		if defs, err := parseFeatures([]byte(s)); err == nil {
			t.Errorf("parseFeatures(%s) = %+v, want an error", s, defs)
		}
	}
}
