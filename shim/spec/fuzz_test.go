package spec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzScanView: on any document encoding/json decodes (readViewJSON), the
// structural scan with its reflection-free string decoding finds the same
// facts. The seeds cover escapes, invalid UTF-8, nulls inside arrays and
// non-string values; make fuzz runs it longer.
func FuzzScanView(f *testing.F) {
	for _, s := range []string{
		`{"process":{"args":["sh","-c","echo \"hi\"\n"],"env":["A=\u00e9","B=\ud83d\ude00"],"cwd":"/"},"root":{"path":"r"}}`,
		`{"process":{"args":["a",null,"c"]},"annotations":{"k":"v","n":null,"\u006b":"last"}}`,
		"{\"process\":{\"args\":[\"\xff\xfe\"]},\"root\":{\"path\":\"\xc3\"}}",
		`{"process":{"args":[1]}}`, `{"process":{"args":"sh"}}`, `{"annotations":[]}`,
		`{"linux":{"resources":{"cpu":{"cpus":"0-3","shares":1024}}},"root":null}`,
		`{"process":{"args":["\u2028\u2029<>&"]},"process":{"args":["dup"]}}`,
		`{"Process":{"ARGS":["folded"]},"ROOT":{"Path":"r"},"LINUX":{"Resources":{"CPU":{"CPUS":"1"}}},"Annotations":{"K":"v"}}`,
		`{"proce\u017fs":{"args":["long s"]},"linux":{"resources":{"cpu":{"cpu\u017f":"2"}}}}`,
		`{"root":{"path":"a\/b"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(fixture(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := readViewJSON(data)
		got, gerr := ScanView(data)
		if werr != nil {
			return // ScanView may accept what it never decodes
		}
		if hasRepeatedName(data) {
			// A name given twice in one object (in any case):
			// encoding/json decodes both into the same struct, merging
			// them; ScanView, like any reader that takes the last, sees
			// only the last. No runtime writes such a config.
			return
		}
		if gerr != nil {
			t.Fatalf("encoding/json accepts %q, ScanView: %v", data, gerr)
		}
		if !reflect.DeepEqual(factsOf(got), factsOf(want)) {
			t.Fatalf("%q: ScanView %+v, encoding/json %+v", data, factsOf(got), factsOf(want))
		}
	})
}

// hasRepeatedName reports whether an object in data has a member name
// twice, as encoding/json matches names (in any case).
func hasRepeatedName(data []byte) bool {
	type frame struct {
		names   []string
		object  bool
		wantKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			name := tok.(string)
			for _, seen := range stack[n-1].names {
				if strings.EqualFold(seen, name) {
					return true
				}
			}
			stack[n-1].names, stack[n-1].wantKey = append(stack[n-1].names, name), false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		valueDone()
	}
}
