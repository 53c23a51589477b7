package cpuinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts renders back to exactly
// the input; ARMv7 of it is valid cpuinfo and a fixed point; Select of its
// first CPU gives one block numbered 0.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "\n", "processor\t: 0\n\n", "processor\t: 0\n", "processor:0\n\nHardware:x\n",
		"processor\t: 0\nCPU implementer\t: 0x41\nFeatures\t: fp\n\n",
		"processor\t: 0\nvendor_id\t: x\n\nprocessor\t: 0\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Parse(data)
		if err != nil {
			return
		}
		if out := info.Render(); !bytes.Equal(out, data) {
			t.Fatalf("Render(Parse(%q)) = %q", data, out)
		}
		_ = info.CPUName()
		v := info.ARMv7()
		text := v.Render()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("ARMv7 of %q is not valid cpuinfo: %v\n%q", data, err, text)
		}
		if twice := again.ARMv7().Render(); !bytes.Equal(twice, text) {
			t.Fatalf("ARMv7 not idempotent on %q:\n%q\n%q", data, text, twice)
		}
		if !bytes.Equal(info.Render(), data) {
			t.Fatalf("ARMv7 modified its input")
		}
		ids, err := info.IDs()
		if err != nil {
			t.Fatal(err)
		}
		one, _ := NewCPUSet(ids[0])
		sel, err := info.Select(one)
		if err != nil || sel.NumProcessors() != 1 {
			t.Fatalf("Select(%d): %v", ids[0], err)
		}
		if id, _ := sel.Processors[0].ID(); id != 0 {
			t.Fatalf("selected CPU numbered %d", id)
		}
		if _, err := Parse(sel.Render()); err != nil {
			t.Fatalf("selection does not parse: %v", err)
		}
	})
}

// FuzzParseCPUSet: no panics; accepted lists are non-empty and their
// canonical form parses to the same set.
func FuzzParseCPUSet(f *testing.F) {
	for _, s := range []string{"0", "0-3,7", " 1,1 \n", "0-15:2/4", "3-1", "", "0-65535", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseCPUSet(s)
		if err != nil {
			return
		}
		if set.IsEmpty() {
			t.Fatalf("ParseCPUSet(%q) accepted an empty set", s)
		}
		again, err := ParseCPUSet(set.String())
		if err != nil || !again.Equal(set) {
			t.Fatalf("%q -> %q -> %v, %v", s, set, again, err)
		}
		l := set.List()
		if len(l) != set.Len() {
			t.Fatalf("List has %d, Len %d", len(l), set.Len())
		}
		for k, c := range l {
			if !set.Contains(c) || (k > 0 && l[k-1] >= c) {
				t.Fatalf("List %v inconsistent at %d", l, k)
			}
		}
	})
}
