package cpuinfo

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Field is one "key<sep>value" line of /proc/cpuinfo.
type Field struct {
	Key string // e.g. "CPU architecture", "model name"
	// Sep is exactly the text between Key and Value as the kernel wrote it:
	// the padding tabs, the colon and the space after it ("\t: ", "\t\t: ",
	// ": ", or ":" before an empty value). Render writes it verbatim; an
	// empty Sep (a hand-built Field) is rendered as [DefaultSep](Key).
	Sep   string
	Value string
}

// Processor is one processor block: the fields of one logical CPU, in
// the kernel's order. Parse guarantees the first field is "processor"
// with a decimal CPU number.
type Processor struct {
	Fields []Field
}

// Info is a parsed /proc/cpuinfo: processor blocks, each followed by an
// empty line, then an optional trailer of machine-wide fields (Hardware,
// Revision, Serial, Model on 32-bit ARM kernels) that ends the text without
// an empty line after it. Rendering an unmodified Info reproduces the
// parsed text byte for byte.
type Info struct {
	Processors []Processor
	Trailer    []Field
}

// Get returns the value of the first field named key.
func (p Processor) Get(key string) (string, bool) {
	for _, f := range p.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// Set replaces the value of the first field named key, keeping its
// separator, and reports whether such a field exists.
func (p Processor) Set(key, value string) bool {
	for i := range p.Fields {
		if p.Fields[i].Key == key {
			p.Fields[i].Value = value
			return true
		}
	}
	return false
}

// ID returns the CPU number of the block's "processor" field.
func (p Processor) ID() (int, error) {
	v, ok := p.Get("processor")
	if !ok {
		return 0, errors.New(`no "processor" field`)
	}
	n, err := cpuNumber(v)
	if err != nil {
		return 0, fmt.Errorf("processor %q is %w", v, err)
	}
	return n, nil
}

// DefaultSep is the separator the kernel writes after key: tabs up to
// column 16, then ": " ("processor\t: ", "Serial\t\t: ", "CPU architecture: ").
func DefaultSep(key string) string {
	switch {
	case len(key) >= 16:
		return ": "
	case len(key) >= 8:
		return "\t: "
	default:
		return "\t\t: "
	}
}

// NumProcessors returns the number of processor blocks.
func (i *Info) NumProcessors() int { return len(i.Processors) }

// IDs returns the CPU numbers of the processor blocks, in order.
func (i *Info) IDs() ([]int, error) {
	ids := make([]int, len(i.Processors))
	for k, p := range i.Processors {
		id, err := p.ID()
		if err != nil {
			return nil, err
		}
		ids[k] = id
	}
	return ids, nil
}

// Parse parses /proc/cpuinfo text as arm32, arm64 (native or LINUX32) and
// x86 kernels write it. It is strict, so that every accepted text renders
// back to exactly the same bytes:
//
//   - every line is "key:value" (key non-empty) and ends with a newline;
//   - blocks are separated by exactly one empty line;
//   - every block but the last starts with "processor\t: N" (N decimal,
//     unique) and is followed by an empty line; the last block is either such
//     a processor block or a trailer with no empty line after it.
//
// Anything else is an error naming the line.
func Parse(data []byte) (*Info, error) {
	return parse(string(data)) // one copy; every Field is a substring of it
}

// parseOwned is Parse without the copy, for text nobody modifies later:
// the Info's strings point into data.
func parseOwned(data []byte) (*Info, error) {
	return parse(unsafe.String(unsafe.SliceData(data), len(data)))
}

func parse(text string) (*Info, error) {
	if len(text) == 0 {
		return nil, errors.New("empty input: no processor blocks")
	}
	nlines := strings.Count(text, "\n")
	if text[len(text)-1] != '\n' {
		return nil, fmt.Errorf("line %d: no newline at end of input (truncated read?)", 1+nlines)
	}
	fields := make([]Field, 0, nlines)
	info := &Info{Processors: make([]Processor, 0, strings.Count(text, "\n\n"))}

	start := -1    // index in fields of the open block's first field, -1 if none
	startLine := 0 // line number of the open block's first line
	line := 0
	for pos := 0; pos < len(text); {
		end := pos + strings.IndexByte(text[pos:], '\n')
		l := text[pos:end]
		pos = end + 1
		line++
		if l == "" {
			if start < 0 {
				return nil, fmt.Errorf("line %d: unexpected empty line (blocks are separated by exactly one)", line)
			}
			block := fields[start:len(fields):len(fields)]
			if block[0].Key != "processor" {
				return nil, fmt.Errorf("line %d: the block at line %d starts with %q, not \"processor\", "+
					"but is followed by an empty line; only a final trailer with no empty line after it may", line, startLine, block[0].Key)
			}
			info.Processors = append(info.Processors, Processor{Fields: block})
			start = -1
			continue
		}
		f, err := parseField(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if start < 0 {
			if f.Key == "processor" {
				if _, err := cpuNumber(f.Value); err != nil {
					return nil, fmt.Errorf("line %d: processor %q is %w", line, f.Value, err)
				}
			}
			start, startLine = len(fields), line
		}
		fields = append(fields, f)
	}
	if start >= 0 {
		if fields[start].Key == "processor" {
			return nil, fmt.Errorf("line %d: the processor block that starts at line %d is not ended by an empty line (truncated read?)",
				line, startLine)
		}
		info.Trailer = fields[start:len(fields):len(fields)]
	}
	if len(info.Processors) == 0 {
		return nil, errors.New("no processor blocks (expected \"processor\\t: 0\" lines)")
	}
	if err := checkUniqueIDs(info); err != nil {
		return nil, err
	}
	return info, nil
}

// parseField splits a line at its first colon. The key is the text before
// the padding; the separator runs from the padding through the colon and
// one following space; the value is the rest, verbatim.
func parseField(l string) (Field, error) {
	colon := strings.IndexByte(l, ':')
	if colon < 0 {
		return Field{}, fmt.Errorf("%q is not a \"key: value\" line", l)
	}
	k := colon
	for k > 0 && (l[k-1] == '\t' || l[k-1] == ' ') {
		k--
	}
	key := l[:k]
	if key == "" {
		return Field{}, fmt.Errorf("%q has no key before ':'", l)
	}
	end := colon + 1
	if end < len(l) && l[end] == ' ' {
		end++
	}
	return Field{Key: key, Sep: l[len(key):end], Value: l[end:]}, nil
}

// checkUniqueIDs rejects two blocks with the same processor number. The
// kernel lists CPUs in ascending order, which is checked without
// allocating.
func checkUniqueIDs(info *Info) error {
	prev := -1
	for _, p := range info.Processors {
		id, err := p.ID()
		if err != nil {
			return err
		}
		if id <= prev {
			return checkUniqueSorted(info)
		}
		prev = id
	}
	return nil
}

func checkUniqueSorted(info *Info) error {
	ids, err := info.IDs()
	if err != nil {
		return err
	}
	slices.Sort(ids)
	for k := 1; k < len(ids); k++ {
		if ids[k] == ids[k-1] {
			return fmt.Errorf("processor %d appears twice", ids[k])
		}
	}
	return nil
}

// Render returns the cpuinfo text.
func (i *Info) Render() []byte {
	return i.AppendRender(make([]byte, 0, i.renderSize()))
}

// AppendRender appends the cpuinfo text to dst, growing it at most once.
func (i *Info) AppendRender(dst []byte) []byte {
	dst = slices.Grow(dst, i.renderSize())
	for _, p := range i.Processors {
		dst = appendFields(dst, p.Fields)
		dst = append(dst, '\n')
	}
	return appendFields(dst, i.Trailer)
}

func appendFields(dst []byte, fs []Field) []byte {
	for _, f := range fs {
		dst = append(dst, f.Key...)
		if f.Sep == "" {
			dst = append(dst, DefaultSep(f.Key)...)
		} else {
			dst = append(dst, f.Sep...)
		}
		dst = append(dst, f.Value...)
		dst = append(dst, '\n')
	}
	return dst
}

func (i *Info) renderSize() int {
	n := len(i.Processors)
	for _, p := range i.Processors {
		n += fieldsSize(p.Fields)
	}
	return n + fieldsSize(i.Trailer)
}

func fieldsSize(fs []Field) int {
	n := 0
	for _, f := range fs {
		sep := len(f.Sep)
		if sep == 0 {
			sep = len(DefaultSep(f.Key))
		}
		n += len(f.Key) + sep + len(f.Value) + 1
	}
	return n
}

// Select returns a copy holding only the processors whose CPU number is in
// set, in their original order and renumbered from 0, as LXCFS shows a
// container its cpuset. CPUs of set that cpuinfo does not list (offline)
// are skipped; if none is listed, Select fails. The trailer is kept.
func (i *Info) Select(set CPUSet) (*Info, error) {
	if set.IsEmpty() {
		return nil, errors.New("no CPUs to select (empty CPU set)")
	}
	nkeep, nfields := 0, 0
	for k, p := range i.Processors {
		id, err := p.ID()
		if err != nil {
			return nil, fmt.Errorf("processor block %d: %w", k, err)
		}
		if set.Contains(id) {
			nkeep++
			nfields += len(p.Fields)
		}
	}
	if nkeep == 0 {
		ids, _ := i.IDs()
		have, _ := NewCPUSet(ids...)
		return nil, fmt.Errorf("none of CPUs %s is listed (the cpuinfo lists %s)", set, have)
	}
	out := &Info{Processors: make([]Processor, 0, nkeep), Trailer: slices.Clone(i.Trailer)}
	fields := make([]Field, 0, nfields)
	nums := newNumbers(nkeep)
	for _, p := range i.Processors {
		if id, _ := p.ID(); !set.Contains(id) {
			continue
		}
		s := len(fields)
		fields = append(fields, p.Fields...)
		np := Processor{Fields: fields[s:len(fields):len(fields)]}
		np.Set("processor", nums.get(len(out.Processors)))
		out.Processors = append(out.Processors, np)
	}
	return out, nil
}

// numbers hands out the decimal strings "0".."n-1" with at most one
// allocation: strconv.Itoa allocates nothing below 100, and the larger ones
// are slices of one string.
type numbers struct {
	big string // decimal forms of 100..n-1, concatenated
	off int    // offset in big of the next number to hand out
}

func newNumbers(n int) numbers {
	if n <= 100 {
		return numbers{}
	}
	b := make([]byte, 0, (n-100)*digits(n))
	for k := 100; k < n; k++ {
		b = strconv.AppendInt(b, int64(k), 10)
	}
	// b is never written again: share it rather than copy it.
	return numbers{big: unsafe.String(unsafe.SliceData(b), len(b))}
}

// digits returns the number of decimal digits of k >= 0.
func digits(k int) int {
	w := 1
	for ; k >= 10; k /= 10 {
		w++
	}
	return w
}

// get returns the decimal form of k; calls with k >= 100 must come in
// ascending order, one per k.
func (ns *numbers) get(k int) string {
	if k < 100 {
		return strconv.Itoa(k)
	}
	w := digits(k)
	s := ns.big[ns.off : ns.off+w]
	ns.off += w
	return s
}
