package cpuinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const fixtureDir = "../testdata/cpuinfo"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, b []byte) *Info {
	t.Helper()
	info, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// replicate returns the text of a cpuinfo with n copies of the first
// processor block of fixture name, numbered 0..n-1, and its trailer.
func replicate(t testing.TB, name string, n int) []byte {
	t.Helper()
	src := mustParse(t, fixture(t, name))
	out := &Info{Trailer: src.Trailer}
	for k := range n {
		p := Processor{Fields: slices.Clone(src.Processors[0].Fields)}
		p.Set("processor", strconv.Itoa(k))
		out.Processors = append(out.Processors, p)
	}
	return out.Render()
}

func keys(fs []Field) []string {
	var ks []string
	for _, f := range fs {
		ks = append(ks, f.Key)
	}
	return ks
}

type fixtureCase struct {
	name    string
	n       int
	kind    Kind
	trailer []string
}

var fixtures = []fixtureCase{
	{"rpi3b-raspbian-armv7l.txt", 4, KindARM32, []string{"Hardware", "Revision", "Serial", "Model"}},
	{"qemu-cortex-a72-aarch64.txt", 2, KindARM64, nil},
	{"qemu-cortex-a72-linux32.txt", 2, KindARM32, nil},
	{"qemu-neoverse-n1-aarch64.txt", 2, KindARM64, nil},
	{"qemu-neoverse-n1-linux32.txt", 2, KindARM32, nil},
	{"x86_64-amd-epyc-2cpu.txt", 2, KindX86, nil},
}

// Every fixture in testdata/cpuinfo is in the table above, so a new one is
// round-trip tested too.
func TestFixturesListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(fixtures, func(x fixtureCase) bool { return x.name == filepath.Base(f) }) {
			t.Errorf("fixture %s is not in the fixtures table", f)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, tc := range fixtures {
		t.Run(tc.name, func(t *testing.T) {
			data := fixture(t, tc.name)
			info := mustParse(t, data)
			if got := info.Render(); !bytes.Equal(got, data) {
				t.Fatalf("Render(Parse(x)) != x:\n%s", diff(data, got))
			}
			prefix := []byte("prefix")
			if got := info.AppendRender(prefix); !bytes.Equal(got, append([]byte("prefix"), data...)) {
				t.Errorf("AppendRender lost the prefix or the text")
			}
			if info.NumProcessors() != tc.n {
				t.Errorf("NumProcessors = %d, want %d", info.NumProcessors(), tc.n)
			}
			if n := bytes.Count(data, []byte("\nprocessor\t: ")) + 1; n != tc.n {
				t.Errorf("fixture has %d processor lines, table says %d", n, tc.n)
			}
			if info.Kind() != tc.kind {
				t.Errorf("Kind = %v, want %v", info.Kind(), tc.kind)
			}
			if !slices.Equal(keys(info.Trailer), tc.trailer) {
				t.Errorf("trailer keys %q, want %q", keys(info.Trailer), tc.trailer)
			}
			ids, err := info.IDs()
			if err != nil {
				t.Fatal(err)
			}
			for k, id := range ids {
				if id != k {
					t.Errorf("block %d has processor %d", k, id)
				}
			}
			// Every line is one field, in order.
			var lines []string
			for _, p := range info.Processors {
				for _, f := range p.Fields {
					lines = append(lines, f.Key+f.Sep+f.Value)
				}
				lines = append(lines, "")
			}
			for _, f := range info.Trailer {
				lines = append(lines, f.Key+f.Sep+f.Value)
			}
			if want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"); !slices.Equal(lines, want) {
				t.Errorf("fields do not match the lines one to one")
			}
		})
	}
}

func diff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + strconv.Quote(a) + "\ngot  " + strconv.Quote(b)
		}
	}
	return "(same lines)"
}

func TestParseFields(t *testing.T) {
	rpi := mustParse(t, fixture(t, "rpi3b-raspbian-armv7l.txt"))
	x86 := mustParse(t, fixture(t, "x86_64-amd-epyc-2cpu.txt"))
	a72 := mustParse(t, fixture(t, "qemu-cortex-a72-linux32.txt"))
	last := func(fs []Field) Field { return fs[len(fs)-1] }
	for _, tc := range []struct {
		name string
		got  Field
		want Field
	}{
		{"rpi serial", rpi.Trailer[2], Field{"Serial", "\t\t: ", "00000000b0efcb08"}},
		{"rpi model", rpi.Trailer[3], Field{"Model", "\t\t: ", "Raspberry Pi 3 Model B Rev 1.2"}},
		{"rpi processor", rpi.Processors[3].Fields[0], Field{"processor", "\t: ", "3"}},
		{"arch no tab", a72.Processors[0].Fields[5], Field{"CPU architecture", ": ", "8"}},
		{"x86 empty value", last(x86.Processors[1].Fields), Field{"power management", ":", ""}},
		{"x86 model", x86.Processors[0].Fields[3], Field{"model", "\t\t: ", "17"}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if v, ok := a72.Processors[1].Get("CPU part"); !ok || v != "0xd08" {
		t.Errorf("Get(CPU part) = %q, %v", v, ok)
	}
	if _, ok := a72.Processors[1].Get("Hardware"); ok {
		t.Errorf("Get found a field that is not there")
	}
}

func TestParseOddButValid(t *testing.T) {
	for _, in := range []string{
		"processor\t: 0\n\n",
		"processor:0\n\n",                                         // no padding, no space
		"processor\t: 0\nmodel name\t:  spaced  \n\n",             // leading/trailing spaces kept
		"processor\t: 0\nflags\t\t: a:b:c\n\nHardware\t: x\n",     // colons in value
		"processor\t: 1\n\nprocessor\t: 0\n\n",                    // out of order (unique)
		"processor\t: 0\nx\t: carriage\r\n\n",                     // \r is part of the value
		"processor\t: 0\n\nHardware\t: a\nRevision\t: 0000\n",     // trailer
		"processor\t: 0\n\nprocessor\t: 1\n\nSerial\t\t: \n",      // empty trailer value
		"processor\t: 65535\n\n",                                  // MaxCPUID
		"processor\t: 0\npower management:\n\n",                   // x86 empty value
		"processor\t: 0\nkey with spaces \t : v\n\n",              // mixed padding
		"processor\t: 0\n" + strings.Repeat("k: v\n", 100) + "\n", // long block
	} {
		info, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := string(info.Render()); got != in {
			t.Errorf("round trip of %q gave %q", in, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", "empty input"},
		{"processor\t: 0\n", "line 1: the processor block that starts at line 1 is not ended by an empty line"},
		{"processor\t: 0\n\nprocessor\t: 1", "line 3: no newline at end of input"},
		{"\nprocessor\t: 0\n\n", "line 1: unexpected empty line"},
		{"processor\t: 0\n\n\nprocessor\t: 1\n\n", "line 3: unexpected empty line"},
		{"processor\t: 0\ngarbage\n\n", `line 2: "garbage" is not a "key: value" line`},
		{"processor\t: 0\n\t: value\n\n", "line 2: \"\\t: value\" has no key"},
		{"processor\t: zero\n\n", `line 1: processor "zero" is not a CPU number`},
		{"processor\t: -1\n\n", `processor "-1" is not a CPU number`},
		{"processor\t: 70000\n\n", "out of range"},
		{"processor\t: 99999999999999999999999\n\n", "out of range"},
		{"processor\t:  0\n\n", `processor " 0" is not a CPU number`},
		{"processor\t: 0\n\nprocessor\t: 0\n\n", "processor 0 appears twice"},
		{"processor\t: 1\n\nprocessor\t: 0\n\nprocessor\t: 1\n\n", "processor 1 appears twice"},
		{"Hardware\t: BCM2835\n", "no processor blocks"},
		{"Hardware\t: x\n\nprocessor\t: 0\n\n", `line 2: the block at line 1 starts with "Hardware", not "processor", but is followed by an empty line`},
		{"processor\t: 0\n\nHardware\t: x\n\n", `line 4: the block at line 3 starts with "Hardware"`},
		{"Processor\t: ARMv7 Processor rev 10 (v7l)\nprocessor\t: 0\n\n", `line 3: the block at line 1 starts with "Processor"`},
		{"processor\t: 0\n\nHardware\t: x\nbad\n", `line 4: "bad" is not`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", tc.in, err, tc.want)
		}
		checkNoStutter(t, err.Error())
	}
}

func TestDefaultSep(t *testing.T) {
	// Hand-built fields without Sep render the way the kernel pads them;
	// compare with the separators in the real fixtures.
	rpi := mustParse(t, fixture(t, "rpi3b-raspbian-armv7l.txt"))
	x86 := mustParse(t, fixture(t, "x86_64-amd-epyc-2cpu.txt"))
	var all []Field
	all = append(all, rpi.Processors[0].Fields...)
	all = append(all, rpi.Trailer...)
	all = append(all, x86.Processors[0].Fields...)
	for _, f := range all {
		if f.Value == "" {
			continue // "power management:" has no space before an empty value
		}
		if got := DefaultSep(f.Key); got != f.Sep {
			t.Errorf("DefaultSep(%q) = %q, kernel wrote %q", f.Key, got, f.Sep)
		}
	}
	info := &Info{
		Processors: []Processor{{Fields: []Field{{Key: "processor", Value: "0"}, {Key: "CPU architecture", Value: "7"}}}},
		Trailer:    []Field{{Key: "Serial", Value: "0"}},
	}
	want := "processor\t: 0\nCPU architecture: 7\n\nSerial\t\t: 0\n"
	if got := string(info.Render()); got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestSelect(t *testing.T) {
	rpiText := fixture(t, "rpi3b-raspbian-armv7l.txt")
	rpi := mustParse(t, rpiText)
	sel, err := rpi.Select(mustSet(t, "1,3"))
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumProcessors() != 2 {
		t.Fatalf("selected %d processors, want 2", sel.NumProcessors())
	}
	for k, p := range sel.Processors {
		if id, _ := p.ID(); id != k {
			t.Errorf("block %d renumbered %d", k, id)
		}
		// every field but processor is the original's
		orig := rpi.Processors[2*k+1]
		for j, f := range p.Fields[1:] {
			if f != orig.Fields[j+1] {
				t.Errorf("block %d field %q changed: %q", k, f.Key, f.Value)
			}
		}
		if p.Fields[0].Sep != "\t: " {
			t.Errorf("processor separator changed to %q", p.Fields[0].Sep)
		}
	}
	if !slices.Equal(sel.Trailer, rpi.Trailer) {
		t.Errorf("trailer changed")
	}
	if !bytes.Equal(rpi.Render(), rpiText) {
		t.Errorf("Select modified its input")
	}
	sel.Processors[0].Set("BogoMIPS", "1")
	sel.Trailer[0].Value = "x"
	if !bytes.Equal(rpi.Render(), rpiText) {
		t.Errorf("Select's result shares fields with its input")
	}

	// CPUs missing from cpuinfo (offline) are skipped.
	sel, err = rpi.Select(mustSet(t, "2-9"))
	if err != nil || sel.NumProcessors() != 2 {
		t.Errorf("Select(2-9) = %v processors, %v; want 2", sel, err)
	}
	// None listed: error naming both.
	_, err = rpi.Select(mustSet(t, "4-7,9"))
	if err == nil || err.Error() != "none of CPUs 4-7,9 is listed (the cpuinfo lists 0-3)" {
		t.Errorf("Select(4-7,9) error = %v", err)
	}
	if _, err := rpi.Select(CPUSet{}); err == nil {
		t.Errorf("Select(empty) succeeded")
	}
	bad := &Info{Processors: []Processor{{Fields: []Field{{Key: "processor", Value: "x"}}}}}
	if _, err := bad.Select(mustSet(t, "0")); err == nil || err.Error() != `processor block 0: processor "x" is not a CPU number` {
		t.Errorf("Select on a bad processor number: %v", err)
	}
}

// Renumbering past 100 (where the numbers come from one shared string)
// and past 1000.
func TestSelectRenumberLarge(t *testing.T) {
	for _, tc := range []struct {
		n   int
		set string
	}{
		{150, "0-149"}, {150, "20-149"}, {1200, "1-1199"}, {1200, "0-1199:3/4"}, {101, "0-100"},
	} {
		info := mustParse(t, replicate(t, "qemu-cortex-a72-linux32.txt", tc.n))
		set := mustSet(t, tc.set)
		sel, err := info.Select(set)
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumProcessors() != set.Len() {
			t.Fatalf("%s: %d processors, want %d", tc.set, sel.NumProcessors(), set.Len())
		}
		for k, p := range sel.Processors {
			if v, _ := p.Get("processor"); v != strconv.Itoa(k) {
				t.Fatalf("%s: block %d numbered %q", tc.set, k, v)
			}
		}
		// The result is valid cpuinfo.
		if _, err := Parse(sel.Render()); err != nil {
			t.Errorf("%s: rendered selection does not parse: %v", tc.set, err)
		}
	}
}

func mustSet(t testing.TB, s string) CPUSet {
	t.Helper()
	set, err := ParseCPUSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
