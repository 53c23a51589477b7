package cpuinfo

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxCPUID is the largest CPU number a [CPUSet] accepts. Linux's NR_CPUS
// tops out at 8192 today; the limit only keeps a hostile list such as
// "0-4294967295" from exploding.
const MaxCPUID = 1<<16 - 1

// CPUSet is an immutable set of CPU ids. The zero value is the empty set.
// It is stored as sorted, disjoint, non-adjacent ranges, so a list such as
// "0-65535" costs one range, not 65536 entries.
type CPUSet struct {
	r []cpuRange
}

type cpuRange struct{ lo, hi int } // inclusive

// ParseCPUSet parses a CPU list in the Linux list format used by cpuset
// cgroups, the OCI runtime spec (linux.resources.cpu.cpus) and
// /sys/devices/system/cpu/online: comma-separated ids and ranges, e.g.
// "0-3,7". The kernel's stride form "0-15:2/4" (of every group of 4 CPUs
// starting at 0, the first 2) is accepted too. Surrounding whitespace and a
// trailing newline, as read from a cgroup file, are ignored, as are spaces
// around elements. Duplicates and overlaps are merged.
//
// Errors: the empty list, empty elements ("0,,2", "0-3,"), reversed ranges
// ("3-1"), signs or other non-digits, and ids above [MaxCPUID]. An error
// does not repeat s, which the caller names ("--cpus \"0-x\": \"x\" is not
// a CPU number"); it names the part of s that is wrong when that is not
// all of s.
func ParseCPUSet(s string) (CPUSet, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return CPUSet{}, errors.New(`empty CPU list: expected CPU ids and ranges such as "0-3,7"`)
	}
	var rs []cpuRange
	for elem := range strings.SplitSeq(t, ",") {
		e := strings.TrimSpace(elem)
		var err error
		rs, err = appendElem(rs, e, t)
		if err != nil {
			return CPUSet{}, err
		}
	}
	set := normalize(rs)
	if set.IsEmpty() {
		return CPUSet{}, errors.New("the list selects no CPUs")
	}
	return set, nil
}

// appendElem parses one element e of the CPU list whole: "N", "N-M" or
// "N-M:U/G".
func appendElem(rs []cpuRange, e, whole string) ([]cpuRange, error) {
	if e == "" {
		return rs, errors.New("empty element (stray comma?)")
	}
	// in names e in an error unless e is the whole list.
	in := ""
	if e != whole {
		in = fmt.Sprintf(" (in %q)", e)
	}
	number := func(s string) (int, error) {
		n, err := cpuNumber(s)
		switch {
		case err == nil:
			return n, nil
		case s == "":
			return 0, errors.New("missing CPU number" + in)
		case s == whole:
			return 0, err
		case s == e:
			return 0, fmt.Errorf("%q is %w", s, err)
		}
		return 0, fmt.Errorf("%q is %w%s", s, err, in)
	}
	rng, stride, hasStride := strings.Cut(e, ":")
	a, b, isRange := strings.Cut(rng, "-")
	lo, err := number(a)
	if err != nil {
		return rs, err
	}
	hi := lo
	if isRange {
		if hi, err = number(b); err != nil {
			return rs, err
		}
		if hi < lo {
			return rs, fmt.Errorf("reversed range, write %d-%d%s", hi, lo, in)
		}
	}
	if !hasStride {
		return append(rs, cpuRange{lo, hi}), nil
	}
	if !isRange {
		return rs, errors.New("a stride (:used/group) needs a range, e.g. 0-15:2/4" + in)
	}
	us, gs, ok := strings.Cut(stride, "/")
	if !ok {
		return rs, errors.New("a stride must be :used/group, e.g. 0-15:2/4" + in)
	}
	used, err := number(us)
	if err != nil {
		return rs, err
	}
	group, err := number(gs)
	if err != nil {
		return rs, err
	}
	if group == 0 || used > group {
		return rs, errors.New("a stride needs 0 < used <= group" + in)
	}
	for start := lo; start <= hi && used > 0; start += group {
		rs = append(rs, cpuRange{start, min(start+used-1, hi)})
	}
	return rs, nil
}

// errNotCPUNumber and errCPUOutOfRange say what is wrong with a CPU number;
// callers name the text ("%q is %w").
var (
	errNotCPUNumber  = errors.New("not a CPU number")
	errCPUOutOfRange = fmt.Errorf("out of range (max %d)", MaxCPUID)
)

// cpuNumber parses a decimal CPU id: digits only (no sign, no spaces).
func cpuNumber(s string) (int, error) {
	if s == "" {
		return 0, errNotCPUNumber
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errNotCPUNumber
		}
		n = n*10 + int(c-'0')
		if n > MaxCPUID {
			return 0, errCPUOutOfRange
		}
	}
	return n, nil
}

func cmpRange(a, b cpuRange) int { return a.lo - b.lo }

// normalize sorts and merges overlapping or adjacent ranges.
func normalize(rs []cpuRange) CPUSet {
	if len(rs) == 0 {
		return CPUSet{}
	}
	if !slices.IsSortedFunc(rs, cmpRange) {
		slices.SortFunc(rs, cmpRange)
	}
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return CPUSet{r: out}
}

// NewCPUSet returns the set of the given CPU ids (any order, duplicates
// allowed). Ids must lie in [0, MaxCPUID].
func NewCPUSet(cpus ...int) (CPUSet, error) {
	rs := make([]cpuRange, 0, len(cpus))
	for _, c := range cpus {
		if c < 0 || c > MaxCPUID {
			return CPUSet{}, fmt.Errorf("CPU %d is out of range [0, %d]", c, MaxCPUID)
		}
		rs = append(rs, cpuRange{c, c})
	}
	return normalize(rs), nil
}

// String returns the canonical list form, e.g. "0-3,7" ("" for the empty
// set). Two consecutive CPUs are written as a range ("0-1"), as Linux does.
func (s CPUSet) String() string {
	var b []byte
	for i, r := range s.r {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(r.lo), 10)
		if r.hi != r.lo {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(r.hi), 10)
		}
	}
	return string(b)
}

// Len returns the number of CPUs in the set.
func (s CPUSet) Len() int {
	n := 0
	for _, r := range s.r {
		n += r.hi - r.lo + 1
	}
	return n
}

// IsEmpty reports whether the set has no CPUs.
func (s CPUSet) IsEmpty() bool { return len(s.r) == 0 }

// Contains reports whether cpu is in the set.
func (s CPUSet) Contains(cpu int) bool {
	i := sort.Search(len(s.r), func(i int) bool { return s.r[i].hi >= cpu })
	return i < len(s.r) && s.r[i].lo <= cpu
}

// List returns the CPU ids in ascending order.
func (s CPUSet) List() []int {
	out := make([]int, 0, s.Len())
	for _, r := range s.r {
		for c := r.lo; c <= r.hi; c++ {
			out = append(out, c)
		}
	}
	return out
}

// Without returns the CPUs of s that are not in t.
func (s CPUSet) Without(t CPUSet) CPUSet {
	var rs []cpuRange
	for _, r := range s.r {
		lo := r.lo
		for _, u := range t.r {
			if u.hi < lo || u.lo > r.hi {
				continue
			}
			if u.lo > lo {
				rs = append(rs, cpuRange{lo, u.lo - 1})
			}
			lo = u.hi + 1
		}
		if lo <= r.hi {
			rs = append(rs, cpuRange{lo, r.hi})
		}
	}
	return CPUSet{r: rs}
}

// Equal reports whether s and t hold the same CPUs.
func (s CPUSet) Equal(t CPUSet) bool {
	if len(s.r) != len(t.r) {
		return false
	}
	for i := range s.r {
		if s.r[i] != t.r[i] {
			return false
		}
	}
	return true
}

// Affinity returns the CPU affinity of the calling thread
// (sched_getaffinity(0)). Go threads share the process's affinity unless
// something changed one of them. Masks larger than the 1024 CPUs of glibc's
// cpu_set_t are handled: the buffer grows until the kernel accepts it.
func Affinity() (CPUSet, error) {
	words := 1024 / bits.UintSize
	for {
		mask := make([]uint, words)
		n, _, errno := unix.RawSyscall(unix.SYS_SCHED_GETAFFINITY, 0,
			uintptr(len(mask))*unsafe.Sizeof(mask[0]), uintptr(unsafe.Pointer(&mask[0])))
		if errno == unix.EINVAL && (words*bits.UintSize) <= MaxCPUID {
			words *= 2 // the kernel's cpumask is larger than our buffer
			continue
		}
		if errno != 0 {
			return CPUSet{}, fmt.Errorf("sched_getaffinity: %w", errno)
		}
		return maskToSet(mask[:int(n)/int(unsafe.Sizeof(mask[0]))]), nil
	}
}

// maskToSet converts a kernel cpumask (array of unsigned long) to a CPUSet.
func maskToSet(mask []uint) CPUSet {
	var rs []cpuRange
	for w, word := range mask {
		for word != 0 {
			b := bits.TrailingZeros(word)
			cpu := w*bits.UintSize + b
			if cpu > MaxCPUID {
				return normalize(rs)
			}
			rs = append(rs, cpuRange{cpu, cpu})
			word &^= 1 << b
		}
	}
	return normalize(rs)
}
