package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

type facts struct {
	args, env   []string
	cwd, root   string
	cpus        string
	annotations map[string]string
}

func factsOf(v *View) facts {
	return facts{v.Args(), v.Env(), v.Cwd(), v.RootPath(), v.Cpus(), v.Annotations}
}

// readViewJSON is the reference for ScanView: the View decoded whole by
// encoding/json.
func readViewJSON(data []byte) (*View, error) {
	var v View
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("malformed OCI config: %w", err)
	}
	return &v, nil
}

// ScanView decides on the same facts as a full decode by encoding/json.
func TestScanViewMatchesJSON(t *testing.T) {
	docs := map[string][]byte{
		"docker fixture":           fixture(t),
		"everything":               []byte(`{"linux":{"seccomp":{"x":["{","}","[\"]","\\"]},"resources":{"cpu":{"shares":2,"cpus":"0-1,3"}}},"annotations":{"a":"b"},"process":{"args":["sh"],"env":["PATH=/bin"],"cwd":"/w"},"root":{"path":"rootfs"}}`),
		"empty":                    []byte(`{}`),
		"nulls":                    []byte(`{"process":null,"linux":null,"root":null,"annotations":null}`),
		"linux without resources":  []byte(`{"linux":{"namespaces":[{"type":"pid"}]}}`),
		"resources without cpu":    []byte(`{"linux":{"resources":{"memory":{"limit":1}}}}`),
		"cpu null":                 []byte(`{"linux":{"resources":{"cpu":null}}}`),
		"escaped member name":      []byte(`{"proc\u0065ss":{"args":["esc"]}," root":{"path":"no"},"root":{"path":"yes"}}`),
		"names in any case":        []byte(`{"Process":{"ARGS":["f"],"Env":["A=1"],"CWD":"/c"},"ROOT":{"Path":"r"},"LINUX":{"Resources":{"CPU":{"CPUS":"1"}}},"Annotations":{"K":"v"}}`),
		"names by Unicode folding": []byte(`{"proce\u017fs":{"args":["long s"]},"linux":{"resources":{"cpu":{"cpu\u017f":"2"}}}}`),
		"whitespace":               []byte(" \n{ \"root\" :\t{ \"path\" : \"r\" } ,\n \"process\" : { \"args\" : [ \"a\" , \"b\" ] } }\n"),
		"numbers and literals":     []byte(`{"ociVersion":1.0e3,"x":true,"y":false,"z":null,"process":{"args":["n"],"user":{"uid":0}}}`),
	}
	for name, data := range docs {
		want, err := readViewJSON(data)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		got, err := ScanView(data)
		if err != nil {
			t.Fatalf("%s: ScanView: %v", name, err)
		}
		if !reflect.DeepEqual(factsOf(got), factsOf(want)) {
			t.Errorf("%s: ScanView %+v, encoding/json %+v", name, factsOf(got), factsOf(want))
		}
	}
}

func TestScanViewMalformed(t *testing.T) {
	for _, data := range []string{
		``, `[]`, `{`, `{"process"`, `{"process":}`, `{"process":{"args":["a"]}`, `{"a":"unterminated}`,
		`{"process":3}`, `{"root":{"path":1}}`, `{"linux":{"resources":{"cpu":{"cpus":5}}}}`,
		`{"a":1 "b":2}`, `{"linux":"x"}`,
	} {
		if _, err := ScanView([]byte(data)); err == nil {
			t.Errorf("ScanView(%q) accepted malformed input", data)
		} else if !strings.Contains(err.Error(), "malformed OCI config") {
			t.Errorf("ScanView(%q): error %q does not say malformed OCI config", data, err)
		}
	}
	var syntax *jsontext.SyntacticError
	if _, err := ScanView([]byte(`{"a":[}`)); !errors.As(err, &syntax) {
		t.Errorf("ScanView of an unterminated array: %v", err)
	}
}

func BenchmarkScanView(b *testing.B) {
	data := fixture(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ScanView(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadViewJSON(b *testing.B) {
	data := fixture(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := readViewJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSpliceMember(t *testing.T) {
	for _, tc := range []struct {
		in    string
		entry bool
		want  string
	}{
		{`{}`, false, `{"k":1}`},
		{` { } `, false, ` {"k":1 } `},
		{`{"a":[1,{"k":2}],"k":{"x":3},"b":"k"}`, false, `{"a":[1,{"k":2}],"k":1,"b":"k"}`},
		{`{"a":"}"}`, false, `{"k":1,"a":"}"}`},
		{"{\n  \"a\": 1\n}", false, "{\"k\":1,\n  \"a\": 1\n}"},
		{`null`, false, `{"k":1}`},
		{``, false, `{"k":1}`},
		// A struct's member in another case is the member (runc reads it
		// so); a map's key in another case is another key.
		{`{"K":2}`, false, `{"K":1}`},
		{`{"K":2}`, true, `{"k":1,"K":2}`},
		{`{"k":2,"K":3}`, true, `{"k":1,"K":3}`},
		{`{"k":2,"k":3}`, true, `{"k":2,"k":1}`},
	} {
		pieces, err := spliceMember([]byte(tc.in), "k", []byte("1"), tc.entry)
		got := bytes.Join(pieces, nil)
		if err != nil || string(got) != tc.want {
			t.Errorf("spliceMember(%q, entry %v) = %q, %v; want %q", tc.in, tc.entry, got, err, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("spliceMember(%q) = %q is not JSON", tc.in, got)
		}
	}
	if _, err := spliceMember([]byte(`[1]`), "k", []byte("1"), false); err == nil {
		t.Error("spliced into an array")
	}
}

// Parse splits by the structural scan after validating the whole document.
// A repeated name is kept (runc merges the two objects); the last is the
// one read and edited, under any spelling runc takes for it.
func TestParseScan(t *testing.T) {
	d, err := Parse([]byte(`{"a\u0062":1,"x":{"y":"}"},"X":{"z":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := d.Marshal(); string(out) != `{"a\u0062":1,"x":{"y":"}"},"X":{"z":2}}`+"\n" {
		t.Errorf("members %s", out)
	}
	if got := string(d.get("x")); got != `{"z":2}` {
		t.Errorf("x = %s, want the last", got)
	}
	// Deep damage the structural scan would step over is still refused,
	// with where it is.
	for _, bad := range []string{`{"linux":{"seccomp":[1,,2]}}`, `{"a":1}x`, `{"a":tru}`, `[]`, `"s"`} {
		_, err := Parse([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), "malformed OCI config") {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
	// A member edited later never writes into the parsed bytes.
	data := []byte(`{"annotations":{"a":"b"},"rest":1}`)
	orig := string(data)
	d, _ = Parse(data)
	if err := d.SetAnnotation("k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPersonalityDomain("LINUX32"); err != nil {
		t.Fatal(err)
	}
	if string(data) != orig {
		t.Errorf("editing changed the input bytes: %s", data)
	}
}

func TestHasRepeatedName(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`: false,
		`{"a":1,"a":2}`:                        true,
		`{"x":{"a":[1,{}],"a":2}}`:             true,
		`[{"a":1},{"b":{"c":1,"c":2}}]`:        true,
		`{"process":{"args":[]},"process":{}}`: true,
		`{"process":{},"Process":{}}`:          true,
		`{"cpus":1,"cpu\u017f":2}`:             true,
	} {
		if got := hasRepeatedName([]byte(doc)); got != want {
			t.Errorf("hasRepeatedName(%s) = %v", doc, got)
		}
	}
}

// A document nested deeper than the reader's limit (encoding/json's
// 10000) is refused with that reason, not as a syntax error at some byte
// (issue 17 item 12).
func TestTooDeepSaysSo(t *testing.T) {
	deep := []byte(`{"x-vendor":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`)
	if _, err := ScanView(deep); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("ScanView: %v", err)
	}
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("Parse: %v", err)
	}
}
