package spec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fixture is the config.json Docker 20.10 wrote.
func fixture(t testing.TB) []byte { return testenv.DockerConfig(t) }

func generic(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// withUnknown adds fields no runtime-spec type knows at every level the
// editor touches, plus a big number that float64 would round.
func withUnknown(t *testing.T, b []byte) []byte {
	m := generic(t, b)
	m["x-vendor"] = map[string]any{"nested": []any{json.Number("1"), "two"}}
	m["x-bignum"] = json.Number("18446744073709551615")
	m["linux"].(map[string]any)["x-linux-ext"] = "keep me"
	mounts := m["mounts"].([]any)
	mounts[0].(map[string]any)["x-mount-ext"] = true
	m["process"].(map[string]any)["x-proc-ext"] = "<&>"
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripUnchanged(t *testing.T) {
	in := withUnknown(t, fixture(t))
	d, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(generic(t, in), generic(t, out)) {
		t.Fatalf("round trip changed the document:\n%s", out)
	}
	if !strings.Contains(string(out), "18446744073709551615") || !strings.Contains(string(out), `"<&>"`) {
		t.Errorf("raw members were rewritten:\n%s", out)
	}
}

func TestEditsKeepEverythingElse(t *testing.T) {
	in := withUnknown(t, fixture(t))
	d, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	m := specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/run/armhf-shim/c1/cpuinfo", Options: []string{"rbind", "ro"}}
	if err := d.SetMount(m); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPersonalityDomain("LINUX32"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetAnnotation("io.armhf-shim.personality", "LINUX32"); err != nil {
		t.Fatal(err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, want := generic(t, out), generic(t, in)

	// The edits, checked through the runtime-spec types.
	var s specs.Spec
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("edited config is not a runtime-spec config: %v", err)
	}
	last := s.Mounts[len(s.Mounts)-1]
	if last.Destination != "/proc/cpuinfo" || last.Source != m.Source || last.Type != "bind" {
		t.Errorf("last mount = %+v", last)
	}
	if s.Linux.Personality == nil || s.Linux.Personality.Domain != specs.PerLinux32 {
		t.Errorf("personality = %+v", s.Linux.Personality)
	}
	if s.Annotations["io.armhf-shim.personality"] != "LINUX32" {
		t.Errorf("annotations = %v", s.Annotations)
	}

	// Undo the edits on the generic form: the rest must be identical.
	gm := got["mounts"].([]any)
	if len(gm) != len(want["mounts"].([]any))+1 {
		t.Fatalf("mounts: %d, want one more than %d", len(gm), len(want["mounts"].([]any)))
	}
	got["mounts"] = gm[:len(gm)-1]
	delete(got["linux"].(map[string]any), "personality")
	delete(got, "annotations")
	if _, had := want["annotations"]; had {
		t.Fatal("fixture unexpectedly has annotations")
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("edit changed other fields:\n%s", gb)
	}
}

func TestSetMountReplacesSameDestination(t *testing.T) {
	d, err := Parse([]byte(`{"mounts":[{"destination":"/proc","type":"proc","source":"proc"},
		{"destination":"/proc/cpuinfo","type":"bind","source":"/var/lib/lxcfs/proc/cpuinfo","x":1},
		{"destination":"/tmp","type":"tmpfs","source":"tmpfs"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := d.SetMount(specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/run/a/cpuinfo", Options: []string{"ro"}}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := d.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[1].Source != "/run/a/cpuinfo" || ms[2].Destination != "/tmp" {
		t.Fatalf("mounts = %+v", ms)
	}
}

func TestPersonalityKeepsFlags(t *testing.T) {
	d, err := Parse([]byte(`{"linux":{"personality":{"domain":"LINUX","flags":["x"]},"namespaces":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPersonalityDomain("LINUX32"); err != nil {
		t.Fatal(err)
	}
	out, _ := d.Marshal()
	g := generic(t, out)
	p := g["linux"].(map[string]any)["personality"].(map[string]any)
	if p["domain"] != "LINUX32" || !reflect.DeepEqual(p["flags"], []any{"x"}) {
		t.Errorf("personality = %v", p)
	}
	if dom, _ := d.PersonalityDomain(); dom != "LINUX32" {
		t.Errorf("PersonalityDomain = %q", dom)
	}
}

func TestEmptyDocument(t *testing.T) {
	d, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetMount(specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/s"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPersonalityDomain("LINUX32"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetAnnotation("k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d.Annotation("k"); v != "v" || !ok || err != nil {
		t.Errorf("Annotation = %q %v %v", v, ok, err)
	}
}

func TestMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"not json": `{"ociVersion": `,
		"array":    `[]`,
		"null":     `null`,
		"string":   `"x"`,
		"trailing": `{} {}`,
		"empty":    ``,
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "malformed OCI config") {
			t.Errorf("%s: Parse err = %v", name, err)
		}
	}
	if _, err := ScanView([]byte(`{"process": 3}`)); err == nil || !strings.Contains(err.Error(), "malformed OCI config") {
		t.Errorf("ScanView of a bad process: %v", err)
	}
	// Members of the wrong type: the edit fails, the document is unchanged.
	for name, c := range map[string]struct {
		in   string
		edit func(*Doc) error
	}{
		"mounts object":      {`{"mounts":{}}`, func(d *Doc) error { return d.SetMount(specs.Mount{Destination: "/x"}) }},
		"mount not object":   {`{"mounts":[1]}`, func(d *Doc) error { return d.SetMount(specs.Mount{Destination: "/x"}) }},
		"linux array":        {`{"linux":[]}`, func(d *Doc) error { return d.SetPersonalityDomain("LINUX32") }},
		"personality string": {`{"linux":{"personality":"x"}}`, func(d *Doc) error { return d.SetPersonalityDomain("LINUX32") }},
		"annotations array":  {`{"annotations":[]}`, func(d *Doc) error { return d.SetAnnotation("a", "b") }},
	} {
		d, err := Parse([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before, _ := d.Marshal()
		if err := c.edit(d); err == nil || !strings.Contains(err.Error(), "malformed OCI config") {
			t.Errorf("%s: edit err = %v", name, err)
		}
		after, _ := d.Marshal()
		if string(before) != string(after) {
			t.Errorf("%s: failed edit changed the document", name)
		}
	}
}

func TestScanViewFixture(t *testing.T) {
	v, err := ScanView(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Args(), []string{"sleep", "100"}) || v.Cwd() != "/" || v.Cpus() != "" ||
		!strings.HasPrefix(v.RootPath(), "/var/lib/docker/overlay2/") || len(v.Env()) != 2 || v.Annotations != nil {
		t.Errorf("view = args %v cwd %q cpus %q root %q env %v ann %v", v.Args(), v.Cwd(), v.Cpus(), v.RootPath(), v.Env(), v.Annotations)
	}
	v, err = ScanView([]byte(`{"linux":{"resources":{"cpu":{"cpus":"0-1,3"}}},"annotations":{"a":"b"}}`))
	if err != nil || v.Cpus() != "0-1,3" || v.Annotations["a"] != "b" || v.Args() != nil || v.Cwd() != "/" {
		t.Errorf("view = %+v, %v", v, err)
	}
}

// SetMount splices the mount into mounts as written: after the last
// element (whitespace kept), in place of a mount with its destination, or
// as the only element.
func TestSetMountSplices(t *testing.T) {
	const nm = `{"destination":"/proc/cpuinfo","type":"bind","source":"/s"}`
	for _, c := range []struct{ in, want string }{
		{`{"mounts":[ {"destination":"/proc"} ] }`, `{"mounts":[ {"destination":"/proc"},` + nm + ` ]}`},
		{`{"mounts":[]}`, `{"mounts":[` + nm + `]}`},
		{`{"mounts":null,"x":1}`, `{"mounts":[` + nm + `],"x":1}`},
		{`{"x":1}`, `{"x":1,"mounts":[` + nm + `]}`},
		{`{"mounts":[{"destination":"/proc/cpuinfo","x":1},{"destination":"/tmp"}]}`, `{"mounts":[` + nm + `,{"destination":"/tmp"}]}`},
	} {
		d, err := Parse([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetMount(specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/s"}); err != nil {
			t.Fatal(err)
		}
		out, _ := d.Marshal()
		if string(out) != c.want+"\n" {
			t.Errorf("SetMount on %s:\n got %s want %s", c.in, out, c.want)
		}
	}
}

// SetPersonalityDomain splices where the parse saw linux.personality; on
// every shape of linux that gives the same document as walking linux for
// it (what it does once linux has been edited), and the edit is still
// right when linux is edited twice.
func TestPersonalityFromTheParse(t *testing.T) {
	for _, doc := range []string{
		string(testenv.DockerConfig(t)),
		`{"linux":{"personality":{"domain":"LINUX","flags":["x"]},"namespaces":[]}}`,
		`{"linux":{"namespaces":[],"personality":{"flags":[]}}}`,
		`{"linux":{"namespaces":[{"type":"pid"}]}}`,
		`{"linux":{}}`,
		`{"linux": { } , "x": 1}`,
		`{"linux":null}`,
		`{"root":{"path":"r"}}`,
		`{"linux":{"personality":{"domain":"A"}},"linux":{"seccomp":{"personality":{}}}}`,
		`{"linux":{"personality":{"domain":"A"}},"linux":null}`,
		`{"linux":{"personality":null}}`,
		" {\n \"linux\" : {\n  \"personality\" : { \"domain\" : \"LINUX\" } ,\n  \"a\" : 1 }\n}\n",
	} {
		noted, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%.60q: %v", doc, err)
		}
		walked, _ := Parse([]byte(doc))
		walked.linux = linuxFacts{} // as after an edit of linux
		var outs [2]string
		for i, d := range []*Doc{noted, walked} {
			if err := d.SetPersonalityDomain("LINUX32"); err != nil {
				t.Fatalf("%.60q: %v", doc, err)
			}
			if err := d.SetPersonalityDomain("LINUX32"); err != nil { // linux now edited
				t.Fatalf("%.60q, again: %v", doc, err)
			}
			if dom, err := d.PersonalityDomain(); err != nil || dom != "LINUX32" {
				t.Errorf("%.60q: domain %q, %v", doc, dom, err)
			}
			out, _ := d.Marshal()
			if !json.Valid(out) {
				t.Errorf("%.60q: invalid JSON out: %s", doc, out)
			}
			outs[i] = string(out)
		}
		if outs[0] != outs[1] {
			t.Errorf("%.60q: splicing where the parse saw it gives\n%s\nwalking gives\n%s", doc, outs[0], outs[1])
		}
	}
}

func TestMountAt(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         specs.Mount
		found        bool
	}{
		{"none", `{"mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}`, specs.Mount{}, false},
		{"no mounts", `{}`, specs.Mount{}, false},
		{"bind", `{"mounts":[{"destination":"/proc"},{"destination":"/proc/cpuinfo","type":"bind","source":"/srv/x","options":["rbind","ro"]}]}`,
			specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "/srv/x", Options: []string{"rbind", "ro"}}, true},
		{"last wins, names in any case", `{"mounts":[{"destination":"/proc/cpuinfo","source":"/a"},{"Destination":"/proc/cpuinfo","Type":"tmpfs","Source":"tmpfs"}]}`,
			specs.Mount{Destination: "/proc/cpuinfo", Type: "tmpfs", Source: "tmpfs"}, true},
	} {
		d, err := Parse([]byte(tc.config))
		if err != nil {
			t.Fatal(err)
		}
		got, found, err := d.MountAt("/proc/cpuinfo")
		if err != nil || found != tc.found || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v %v %v, want %+v %v", tc.name, got, found, err, tc.want, tc.found)
		}
	}
	d, _ := Parse([]byte(`{"mounts":[{"destination":"/proc/cpuinfo","source":7}]}`))
	if _, _, err := d.MountAt("/proc/cpuinfo"); err == nil {
		t.Error("a number as source: no error")
	}
}
