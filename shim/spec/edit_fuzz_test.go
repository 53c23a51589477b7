package spec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/spec"
)

const fuzzCPUInfo = "/run/armhf-shim/cpuinfo"

// FuzzEdit: the runtime wrapper's edit of a config.json (spec.Parse, the
// modify.For32Bit edits, Marshal), checked against encoding/json on any
// valid JSON object. The edit succeeds on every document whose edited
// members have the types the runtime-spec gives them; its output is valid
// JSON; every member it did not touch decodes as before (top-level
// members, the rest of linux, linux.personality and annotations, and the
// other mounts in their order); what it set is there; and editing the
// output again changes no byte. The seeds are the configs of testdata/oci
// and edge cases; make fuzz runs it longer.
func FuzzEdit(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "oci", "*.json"))
	if len(files) == 0 {
		f.Fatal("no testdata/oci/*.json seeds")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"mounts":null,"linux":null,"annotations":null}`,
		`{"mounts":[],"linux":{},"annotations":{}}`,
		`{"Linux":{"Personality":{"Domain":"PER_LINUX","flags":["x"]}},"Mounts":[{"Destination":"/proc/cpuinfo"}]}`,
		`{"mounts":[{"destination":"/proc","type":"proc"},{"destination":"/proc/cpuinfo","type":"bind","source":"/var/lib/lxcfs/proc/cpuinfo"},{"destination":"/sys"}]}`,
		`{"annotations":{"io.armhf-shim.personality":"x","k":1e400},"n":123456789012345678901234567890}`,
		`{ "mounts" : [ { "destination" : "/a" } ] , "linux" : { "personality" : null } }`,
		`{"linux":{"personality":{}},"process":{"args":["\u00e9\ud83d\ude00"]}}`,
		`{"mounts":[1]}`, `{"linux":[]}`, `{"annotations":"x"}`, `{"linux":{"personality":7}}`,
		`{"\u006dounts":[],"li\u006eux":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before, ok := decodeObject(data)
		if !ok {
			return // not a valid JSON object: spec.Parse's business, not the edit's
		}
		if spec.HasRepeatedName(data) {
			// A name twice in one object: encoding/json keeps the last,
			// as the edit edits the last; a map cannot show the rest.
			return
		}
		out, err := edit(data)
		if err != nil {
			if wellTyped(before) {
				t.Fatalf("edit of %s: %v", short(data), err)
			}
			return
		}
		after, ok := decodeObject(out)
		if !ok {
			t.Fatalf("edit of %s gave invalid JSON or no object: %s", short(data), short(out))
		}
		checkEdit(t, data, before, after)
		again, err := edit(out)
		if err != nil {
			t.Fatalf("second edit of %s (output %s): %v", short(data), short(out), err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("edit is not idempotent on %s:\nonce  %s\ntwice %s", short(data), short(out), short(again))
		}
	})
}

// edit is what the runtime wrapper does to a 32-bit container's config.
func edit(data []byte) ([]byte, error) {
	d, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	if err := modify.Apply(d, modify.For32Bit(fuzzCPUInfo)...); err != nil {
		return nil, err
	}
	return d.Marshal()
}

// decodeObject decodes data as a JSON object, numbers kept as written.
func decodeObject(data []byte) (map[string]any, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// key returns the name of obj's member that name matches as runc's
// encoding/json matches struct fields (in any case), or "" when none.
// Documents with a name repeated in any case are not fuzzed, so there is
// at most one.
func key(obj map[string]any, name string) string {
	for k := range obj {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

// wellTyped reports whether the members the edit reads have the types of
// the runtime-spec (null or absent allowed): annotations an object, mounts
// an array of objects whose destination is a string, linux an object whose
// personality is an object.
func wellTyped(doc map[string]any) bool {
	if a, ok := doc[key(doc, "annotations")]; ok && a != nil {
		if _, ok := a.(map[string]any); !ok {
			return false
		}
	}
	if ms, ok := doc[key(doc, "mounts")]; ok && ms != nil {
		arr, ok := ms.([]any)
		if !ok {
			return false
		}
		for _, el := range arr {
			m, ok := el.(map[string]any)
			if !ok {
				return false
			}
			if d, ok := m[key(m, "destination")]; ok {
				if _, ok := d.(string); !ok {
					return false
				}
			}
		}
	}
	if l, ok := doc[key(doc, "linux")]; ok && l != nil {
		lm, ok := l.(map[string]any)
		if !ok {
			return false
		}
		if p, ok := lm[key(lm, "personality")]; ok && p != nil {
			if _, ok := p.(map[string]any); !ok {
				return false
			}
		}
	}
	return true
}

// checkEdit compares the decoded document before and after the edit.
func checkEdit(t *testing.T, data []byte, before, after map[string]any) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("edit of %s: "+format, append([]any{short(data)}, args...)...)
	}
	edited := map[string]string{} // canonical name -> the member's name after the edit
	for _, name := range []string{"annotations", "mounts", "linux"} {
		k := key(before, name)
		if k == "" || before[k] == nil {
			// Absent or null: the edit writes the member; its name is the
			// one written before, or the canonical one.
			if k == "" {
				k = name
			}
		}
		edited[name] = k
	}
	// Top-level members the edit does not touch, and no new ones but those.
	for k, v := range before {
		if k == edited["annotations"] || k == edited["mounts"] || k == edited["linux"] {
			continue
		}
		if !reflect.DeepEqual(after[k], v) {
			fail("member %q changed: %v -> %v", k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && k != edited["annotations"] && k != edited["mounts"] && k != edited["linux"] {
			fail("new member %q", k)
		}
	}
	// annotations: the mark set, every other entry as it was.
	annB, _ := before[edited["annotations"]].(map[string]any)
	annA, ok := after[edited["annotations"]].(map[string]any)
	if !ok || annA[modify.AnnotationMark] != modify.MarkValue {
		fail("annotations %v lack %s=%s", after[edited["annotations"]], modify.AnnotationMark, modify.MarkValue)
	}
	if !sameExcept(annB, annA, modify.AnnotationMark) {
		fail("annotations other than the mark changed: %v -> %v", annB, annA)
	}
	// linux: personality.domain set; the rest of linux and of personality kept.
	linB, _ := before[edited["linux"]].(map[string]any)
	linA, ok := after[edited["linux"]].(map[string]any)
	if !ok {
		fail("linux is %v", after[edited["linux"]])
	}
	pk := key(linB, "personality")
	if pk == "" {
		pk = "personality"
	}
	if !sameExcept(linB, linA, pk) {
		fail("linux members other than personality changed: %v -> %v", linB, linA)
	}
	perB, _ := linB[pk].(map[string]any)
	perA, ok := linA[pk].(map[string]any)
	if !ok {
		fail("linux.%s is %v", pk, linA[pk])
	}
	dk := key(perB, "domain")
	if dk == "" {
		dk = "domain"
	}
	if perA[dk] != "LINUX32" || !sameExcept(perB, perA, dk) {
		fail("linux.personality %v -> %v; want domain LINUX32 and the rest kept", perB, perA)
	}
	// mounts: every mount not at /proc/cpuinfo kept, in order; a cpuinfo
	// mount there; if there was none, the one asked for.
	mB, _ := before[edited["mounts"]].([]any)
	mA, ok := after[edited["mounts"]].([]any)
	if !ok {
		fail("mounts is %v", after[edited["mounts"]])
	}
	otherB, cpuB := splitMounts(mB)
	otherA, cpuA := splitMounts(mA)
	if !reflect.DeepEqual(otherB, otherA) {
		fail("mounts not at %s changed: %v -> %v", modify.CPUInfoTarget, otherB, otherA)
	}
	if len(cpuA) == 0 || len(cpuA) > len(cpuB)+1 {
		fail("%d mounts at %s before, %d after", len(cpuB), modify.CPUInfoTarget, len(cpuA))
	}
	if len(cpuB) == 0 {
		want := map[string]any{"destination": modify.CPUInfoTarget, "type": "bind", "source": fuzzCPUInfo,
			"options": []any{"bind", "ro", "nosuid", "nodev", "noexec"}}
		if !reflect.DeepEqual(cpuA[0], want) {
			fail("the cpuinfo mount is %v, want %v", cpuA[0], want)
		}
	}
}

// sameExcept reports whether a and b (nil: empty) hold the same members
// but for name.
func sameExcept(a, b map[string]any, name string) bool {
	n := 0
	for k, v := range a {
		if k == name {
			continue
		}
		n++
		if w, ok := b[k]; !ok || !reflect.DeepEqual(v, w) {
			return false
		}
	}
	for k := range b {
		if k != name {
			n--
		}
	}
	return n == 0
}

// splitMounts separates the mounts at /proc/cpuinfo from the others.
func splitMounts(ms []any) (other, cpuinfo []any) {
	for _, el := range ms {
		m, _ := el.(map[string]any)
		if m[key(m, "destination")] == modify.CPUInfoTarget {
			cpuinfo = append(cpuinfo, el)
		} else {
			other = append(other, el)
		}
	}
	return other, cpuinfo
}

// short quotes b, cut in the middle when long (a whole config would drown
// the message).
func short(b []byte) string {
	if len(b) <= 400 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q…(%d bytes)…%q", b[:200], len(b)-400, b[len(b)-200:])
}
