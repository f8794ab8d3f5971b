package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestWriteJSONMatchesEncodingJSON: what the CLI's encoder writes reads
// back, with encoding/json, into the value it came from.
func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	created := uint32(8192)
	values := []any{
		inspection{Object: "a\"b\\c\n\x01é\xff", Programs: []inspectedProgram{{Name: "p", Maps: []string{"m"}, Externs: []string{}}},
			Maps: []inspectedMap{{Name: "m", Created: &created, Inner: &inspectedMap{Name: "i"}}}, Globals: []inspectedGlobal{}},
		[]loadRecord{{verdict: verdict{Object: "o", Program: "p", Loaded: true, Insns: 3, LoadNS: 12}, Log: "x"}},
		[]benchRun{{Parse: time.Millisecond, Failed: []string{"f"}}},
		map[string]string{"object": "o", "error": "e"},
		[]attachRecord{{Program: "p", State: "attached", LinkID: 7}},
	}
	for _, v := range values {
		var ours, theirs bytes.Buffer
		if err := writeJSON(&ours, v); err != nil {
			t.Fatal(err)
		}
		std, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		theirs.Write(std)
		got := reflect.New(reflect.TypeOf(v))
		want := reflect.New(reflect.TypeOf(v))
		if err := json.Unmarshal(ours.Bytes(), got.Interface()); err != nil {
			t.Fatalf("%T: %v\n%s", v, err, ours.String())
		}
		if err := json.Unmarshal(std, want.Interface()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%T: ours decodes to %+v, encoding/json's to %+v\n%s", v, got.Elem(), want.Elem(), ours.String())
		}
	}
}
