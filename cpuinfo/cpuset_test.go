package cpuinfo

import (
	"bufio"
	"math/bits"
	"os"
	"runtime"
	"slices"
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

func TestParseCPUSetErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty CPU list"},
		{" \n\t", "empty CPU list"},
		{",", "empty element"},
		{"0,", "empty element"},
		{",0", "empty element"},
		{"0,,1", "empty element"},
		{"3-1", `range "3-1" is reversed (write 1-3)`},
		{"-1", "missing number"},
		{"1-", "missing number"},
		{"-", "missing number"},
		{"+1", `"+1" is not a CPU number`},
		{"a", `"a" is not a CPU number`},
		{"0x1", `"0x1" is not a CPU number`},
		{"1 2", `"1 2" is not a CPU number`},
		{"1-2-3", `"2-3" is not a CPU number`},
		{"0-N", `"N" is not a CPU number`},
		{"65536", "out of range (max 65535)"},
		{"0-65536", "out of range"},
		{"99999999999999999999999999", "out of range"},
		{"0-4294967295", "out of range"},
		{"5:1/2", "a stride (:used/group) needs a range"},
		{"0-3:2", "stride must be :used/group"},
		{"0-3:3/2", "stride needs 0 < used <= group"},
		{"0-3:1/0", "stride needs 0 < used <= group"},
		{"0-3:/2", "missing number"},
		{"0-3:0/2", "selects no CPUs"},
	} {
		s, err := ParseCPUSet(tc.in)
		if err == nil {
			t.Errorf("ParseCPUSet(%q) = %q, want error containing %q", tc.in, s, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cpuinfo: ") {
			t.Errorf("ParseCPUSet(%q) error %q, want it to contain %q", tc.in, err, tc.want)
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
