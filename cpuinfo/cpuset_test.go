package cpuinfo

import (
	"bufio"
	"math/bits"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCPUSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		n    int
	}{
		{"0", "0", 1},
		{"0-3,7", "0-3,7", 5},
		{"0-3,7\n", "0-3,7", 5},       // as read from cpuset.cpus
		{" \t0-3 , 7 \n", "0-3,7", 5}, // spaces around elements
		{"7,0-3", "0-3,7", 5},         // unsorted
		{"1,1,1", "1", 1},             // duplicates
		{"0-2,1-5", "0-5", 6},         // overlap
		{"3,4,5", "3-5", 3},           // adjacent singles merge
		{"0-1", "0-1", 2},             // Linux writes pairs as ranges
		{"0,2,4-4", "0,2,4", 3},       // one-element range
		{"00,010", "0,10", 2},         // leading zeros (the kernel accepts them)
		{"0-15:2/4", "0-1,4-5,8-9,12-13", 8},
		{"0-1023:2/256", "0-1,256-257,512-513,768-769", 8},
		{"0-9:3/3", "0-9", 10},
		{"2-6:1/2", "2,4,6", 3},
		{"65535", "65535", 1},
		{"0-65535", "0-65535", 65536},
		{"5-65535:1/65535", "5", 1},
	} {
		s, err := ParseCPUSet(tc.in)
		if err != nil {
			t.Errorf("ParseCPUSet(%q): %v", tc.in, err)
			continue
		}
		if s.String() != tc.want || s.Len() != tc.n || s.IsEmpty() {
			t.Errorf("ParseCPUSet(%q) = %q (len %d), want %q (len %d)", tc.in, s, s.Len(), tc.want, tc.n)
		}
		// canonical form parses to the same set
		if s2, err := ParseCPUSet(s.String()); err != nil || !s2.Equal(s) {
			t.Errorf("reparse of %q: %v %v", s, s2, err)
		}
		if l := s.List(); len(l) != s.Len() || !slices.IsSorted(l) {
			t.Errorf("%q: List() has %d ids (sorted %v)", tc.in, len(l), slices.IsSorted(l))
		}
	}
}

// Errors do not repeat the list (the caller names it) and name the part
// that is wrong only when that is not the whole list.
func TestParseCPUSetErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `empty CPU list: expected CPU ids and ranges such as "0-3,7"`},
		{" \n\t", `empty CPU list: expected CPU ids and ranges such as "0-3,7"`},
		{",", "empty element (stray comma?)"},
		{"0,", "empty element (stray comma?)"},
		{",0", "empty element (stray comma?)"},
		{"0,,1", "empty element (stray comma?)"},
		{"3-1", "reversed range, write 1-3"},
		{"0,3-1", `reversed range, write 1-3 (in "3-1")`},
		{"-1", "missing CPU number"},
		{"1-", "missing CPU number"},
		{"-", "missing CPU number"},
		{"0, -1", `missing CPU number (in "-1")`},
		{"+1", "not a CPU number"},
		{"a", "not a CPU number"},
		{"abc", "not a CPU number"},
		{"0,abc", `"abc" is not a CPU number`},
		{" abc \n", "not a CPU number"},
		{"0x1", "not a CPU number"},
		{"1 2", "not a CPU number"},
		{"1-2-3", `"2-3" is not a CPU number`},
		{"0-N", `"N" is not a CPU number`},
		{"7,0-N", `"N" is not a CPU number (in "0-N")`},
		{"65536", "out of range (max 65535)"},
		{"0-65536", `"65536" is out of range (max 65535)`},
		{"99999999999999999999999999", "out of range (max 65535)"},
		{"1,0-4294967295", `"4294967295" is out of range (max 65535) (in "0-4294967295")`},
		{"5:1/2", "a stride (:used/group) needs a range, e.g. 0-15:2/4"},
		{"0-3:2", "a stride must be :used/group, e.g. 0-15:2/4"},
		{"0-3:3/2", "a stride needs 0 < used <= group"},
		{"0-3:1/0", "a stride needs 0 < used <= group"},
		{"1,0-3:1/0", `a stride needs 0 < used <= group (in "0-3:1/0")`},
		{"0-3:/2", "missing CPU number"},
		{"0-3:x/2", `"x" is not a CPU number`},
		{"0-3:0/2", "the list selects no CPUs"},
	} {
		s, err := ParseCPUSet(tc.in)
		if err == nil {
			t.Errorf("ParseCPUSet(%q) = %q, want error %q", tc.in, s, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseCPUSet(%q) error %q, want %q", tc.in, err, tc.want)
		}
		checkNoStutter(t, "--cpus "+strconv.Quote(tc.in)+": "+err.Error())
	}
}

// checkNoStutter fails when msg says a quoted text twice, or "cpuinfo:"
// (the package's name is the caller's to give, if it wants it).
func checkNoStutter(t *testing.T, msg string) {
	t.Helper()
	seen := map[string]bool{}
	for _, q := range quoted.FindAllString(msg, -1) {
		if seen[q] {
			t.Errorf("%q says %s twice", msg, q)
		}
		seen[q] = true
	}
	if strings.Contains(msg, "cpuinfo:") {
		t.Errorf("%q names the package", msg)
	}
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

func TestCPUSetWithout(t *testing.T) {
	for _, tc := range []struct{ s, t, want string }{
		{"0-3", "0-1", "2-3"},
		{"0-3", "1-2", "0,3"},
		{"0-9", "2,4-5,9", "0-1,3,6-8"},
		{"2,4-6,9", "0-1", "2,4-6,9"},
		{"0-1", "0-3", ""},
		{"0-65535", "1-65534", "0,65535"},
	} {
		got := mustSet(t, tc.s).Without(mustSet(t, tc.t))
		if got.String() != tc.want || got.Len() != len(got.List()) {
			t.Errorf("%s without %s = %q, want %q", tc.s, tc.t, got, tc.want)
		}
	}
}

func TestCPUSetMethods(t *testing.T) {
	var zero CPUSet
	if !zero.IsEmpty() || zero.Len() != 0 || zero.String() != "" || zero.Contains(0) || len(zero.List()) != 0 {
		t.Errorf("zero CPUSet is not empty: %q", zero)
	}
	s := mustSet(t, "2-4,7,9-10")
	for cpu := -1; cpu <= 12; cpu++ {
		want := (cpu >= 2 && cpu <= 4) || cpu == 7 || cpu == 9 || cpu == 10
		if s.Contains(cpu) != want {
			t.Errorf("Contains(%d) = %v", cpu, !want)
		}
	}
	if l := s.List(); !slices.Equal(l, []int{2, 3, 4, 7, 9, 10}) {
		t.Errorf("List = %v", l)
	}
	n, err := NewCPUSet(10, 9, 7, 4, 3, 2, 3)
	if err != nil || !n.Equal(s) {
		t.Errorf("NewCPUSet = %v, %v; want %v", n, err, s)
	}
	if s.Equal(mustSet(t, "2-4,7,9")) || s.Equal(mustSet(t, "2-4,7,9-11")) {
		t.Errorf("Equal is too lenient")
	}
	for _, bad := range []int{-1, MaxCPUID + 1} {
		if _, err := NewCPUSet(0, bad); err == nil {
			t.Errorf("NewCPUSet(%d) succeeded", bad)
		}
	}
	if e, err := NewCPUSet(); err != nil || !e.IsEmpty() {
		t.Errorf("NewCPUSet() = %v, %v", e, err)
	}
}

func TestMaskToSet(t *testing.T) {
	mask := make([]uint, 4096/bits.UintSize) // beyond glibc's 1024 CPUs
	set := func(c int) { mask[c/bits.UintSize] |= 1 << (c % bits.UintSize) }
	for _, c := range []int{0, 1, 2, 63, 64, 65, 1500, 4095} {
		set(c)
	}
	if got := maskToSet(mask).String(); got != "0-2,63-65,1500,4095" {
		t.Errorf("maskToSet = %q", got)
	}
	if got := maskToSet(make([]uint, 2)); !got.IsEmpty() {
		t.Errorf("empty mask gave %q", got)
	}
}

// cpusAllowed is the kernel's own rendering of the affinity in
// /proc/thread-self/status.
func cpusAllowed(t *testing.T) CPUSet {
	t.Helper()
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Cpus_allowed_list:"); ok {
			return mustSet(t, v)
		}
	}
	t.Fatal("no Cpus_allowed_list in /proc/thread-self/status")
	return CPUSet{}
}

func TestAffinity(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	got, err := Affinity()
	if err != nil {
		t.Fatal(err)
	}
	if want := cpusAllowed(t); !got.Equal(want) {
		t.Errorf("Affinity = %q, kernel says %q", got, want)
	}
	if got.Len() != runtime.NumCPU() {
		t.Errorf("Affinity has %d CPUs, runtime.NumCPU = %d", got.Len(), runtime.NumCPU())
	}
}

// Narrow this thread's affinity to its last allowed CPU and check that
// Affinity follows.
func TestAffinityNarrowed(t *testing.T) {
	all, err := Affinity()
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() < 2 {
		t.Skip("needs 2 CPUs to narrow the affinity")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		var orig, one unix.CPUSet
		if err := unix.SchedGetaffinity(0, &orig); err != nil {
			t.Error(err)
			runtime.UnlockOSThread()
			return
		}
		last := all.List()[all.Len()-1]
		one.Set(last)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Error(err)
			runtime.UnlockOSThread()
			return
		}
		got, err := Affinity()
		if err != nil || got.Len() != 1 || !got.Contains(last) {
			t.Errorf("narrowed Affinity = %q, %v; want %d", got, err, last)
		}
		if err := unix.SchedSetaffinity(0, &orig); err != nil {
			t.Errorf("restoring affinity: %v (thread retired)", err)
			return // leave locked: the thread exits with the goroutine
		}
		runtime.UnlockOSThread()
	}()
	<-done
}
