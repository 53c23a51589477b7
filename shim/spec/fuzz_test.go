package spec

import (
	"bytes"
	"encoding/json"
	"reflect"
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
		if hasFoldedName(data) {
			// encoding/json matches member names case-insensitively
			// ("Process"); runtimes' configs use the exact names, which is
			// all ScanView matches.
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

// hasFoldedName reports whether a member name in data equals one of the
// View's names case-insensitively but not exactly.
func hasFoldedName(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		for _, n := range []string{"annotations", "process", "root", "path", "linux", "resources", "cpu", "cpus", "args", "env", "cwd"} {
			if s != n && bytes.EqualFold([]byte(s), []byte(n)) {
				return true
			}
		}
	}
}
