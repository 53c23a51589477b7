package cpuinfo

import (
	"slices"
	"strconv"
	"strings"
)

// Kind says which view of which kind of CPU a cpuinfo text is.
type Kind int

const (
	// KindOther: no ARM fields and not x86.
	KindOther Kind = iota
	// KindARM32: the 32-bit ARM view, with "model name": a 32-bit ARM kernel,
	// or an arm64 kernel read by a thread in the LINUX32 personality.
	KindARM32
	// KindARM64: the native arm64 view: no "model name", 64-bit Features.
	KindARM64
	// KindX86: an x86 kernel ("vendor_id", "flags", ...).
	KindX86
)

func (k Kind) String() string {
	switch k {
	case KindARM32:
		return "arm 32-bit view"
	case KindARM64:
		return "arm64 view"
	case KindX86:
		return "x86"
	}
	return "non-ARM"
}

// Kind classifies the first processor block.
func (i *Info) Kind() Kind {
	if len(i.Processors) == 0 {
		return KindOther
	}
	return blockKind(i.Processors[0])
}

func blockKind(p Processor) Kind {
	if _, ok := p.Get("CPU implementer"); ok {
		if _, ok := p.Get("model name"); ok {
			return KindARM32
		}
		return KindARM64
	}
	if _, ok := p.Get("vendor_id"); ok {
		return KindX86
	}
	return KindOther
}

// The template processor block: what Debian 12's arm64 kernel (6.1) shows
// a LINUX32 reader on a Cortex-A72 (QEMU -cpu cortex-a72; fixture
// testdata/cpuinfo/qemu-cortex-a72-linux32.txt), with the architecture
// claims made armv7. The test suite checks it against that fixture.
var templateFields = []Field{
	{"processor", "\t: ", "0"},
	{"model name", "\t: ", "ARMv7 Processor rev 3 (v7l)"},
	{"BogoMIPS", "\t: ", "125.00"},
	{"Features", "\t: ", "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt lpae evtstrm pmull sha1 sha2 crc32"},
	{"CPU implementer", "\t: ", "0x41"},
	{"CPU architecture", ": ", "7"},
	{"CPU variant", "\t: ", "0x0"},
	{"CPU part", "\t: ", "0xd08"},
	{"CPU revision", "\t: ", "3"},
}

// GenericTrailer is the machine-wide trailer a mainline 32-bit ARM kernel
// prints on a device-tree machine without a board file (arch/arm/kernel/
// setup.c: Hardware is the machine name, Revision "%04x" of system_rev,
// Serial 16 hex digits). ARMv7 uses it when the input has no trailer of its
// own (arm64 kernels print none); board-specific lines such as the
// Raspberry Pi's Model are never invented. Returned Infos hold copies.
var GenericTrailer = []Field{
	{"Hardware", "\t: ", "Generic DT based system"},
	{"Revision", "\t: ", "0000"},
	{"Serial", "\t\t: ", "0000000000000000"},
}

// Template returns a realistic armv7 cpuinfo for n CPUs numbered 0..n-1
// (n < 1 counts as 1): Cortex-A72 blocks as an arm64 kernel's LINUX32 view
// shows them, made armv7, and [GenericTrailer]. It stands in where the host
// has no ARM view of its own (x86_64, an unreadable /proc/cpuinfo).
func Template(n int) *Info {
	n = max(n, 1)
	ids := make([]int, n)
	for k := range ids {
		ids[k] = k
	}
	return templateFor(ids)
}

// templateFor returns template blocks numbered ids, plus GenericTrailer.
func templateFor(ids []int) *Info {
	out := &Info{Processors: make([]Processor, len(ids)), Trailer: slices.Clone(GenericTrailer)}
	fields := make([]Field, 0, len(ids)*len(templateFields))
	for k, id := range ids {
		fields = appendTemplate(fields, strconv.Itoa(id))
		out.Processors[k] = Processor{Fields: fields[len(fields)-len(templateFields) : len(fields) : len(fields)]}
	}
	return out
}

func appendTemplate(dst []Field, id string) []Field {
	s := len(dst)
	dst = append(dst, templateFields...)
	dst[s].Value = id
	return dst
}

// ARMv7 returns the armv7 view of i, as a copy; i is not modified. Per
// processor block:
//
//   - the 32-bit ARM view (KindARM32: an arm64 kernel's LINUX32 view, or a
//     real armv7 kernel) keeps every field except the two that lie on arm64:
//     "CPU architecture" becomes 7 and "model name" becomes
//     "ARMv7 Processor rev <CPU revision> (v7l)", exactly what a 32-bit ARM
//     kernel prints for an ARMv8 core;
//   - the native arm64 view (KindARM64) gets the same model name inserted
//     after "processor", architecture 7, and 32-bit Features derived from
//     the 64-bit ones ([Features32]); BogoMIPS, implementer, variant, part and
//     revision are kept;
//   - any other block (x86) becomes a [Template] block with the same
//     processor number, so [Info.Select] still finds the host's CPUs.
//
// An ARM input's own trailer (a 32-bit kernel's Hardware/Revision/...) is
// kept; otherwise the result gets [GenericTrailer]. ARMv7 is idempotent and
// a real armv7 cpuinfo comes back unchanged.
func (i *Info) ARMv7() *Info {
	nfields, arm := 0, false
	for _, p := range i.Processors {
		switch blockKind(p) {
		case KindARM32:
			nfields += len(p.Fields)
			arm = true
		case KindARM64:
			nfields += len(p.Fields) + 1
			arm = true
		default:
			nfields += len(templateFields)
		}
	}
	out := &Info{Processors: make([]Processor, len(i.Processors))}
	if arm && len(i.Trailer) > 0 {
		out.Trailer = slices.Clone(i.Trailer)
	} else {
		out.Trailer = slices.Clone(GenericTrailer)
	}
	fields := make([]Field, 0, nfields)
	var names, feats memo
	for k, p := range i.Processors {
		s := len(fields)
		switch kind := blockKind(p); kind {
		case KindARM32, KindARM64:
			rev, _ := p.Get("CPU revision")
			name := names.get(rev, modelName)
			inserted := kind != KindARM64
			for _, f := range p.Fields {
				switch f.Key {
				case "model name":
					f.Value = name
				case "CPU architecture":
					f.Value = "7"
				case "Features":
					if kind == KindARM64 {
						f.Value = feats.get(f.Value, Features32)
					}
				}
				fields = append(fields, f)
				if f.Key == "processor" && !inserted {
					fields = append(fields, Field{"model name", "\t: ", name})
					inserted = true
				}
			}
		default:
			id, err := p.ID()
			if err != nil {
				id = k
			}
			fields = appendTemplate(fields, strconv.Itoa(id))
		}
		out.Processors[k] = Processor{Fields: fields[s:len(fields):len(fields)]}
	}
	return out
}

// armv7InPlace is ARMv7 for an Info nobody else holds: when every block is
// already a 32-bit ARM view (the LINUX32 case) the two lying fields are
// rewritten where they are instead of copying every field.
func (i *Info) armv7InPlace() *Info {
	for _, p := range i.Processors {
		if blockKind(p) != KindARM32 {
			return i.ARMv7()
		}
	}
	if len(i.Trailer) == 0 {
		i.Trailer = slices.Clone(GenericTrailer)
	}
	var names memo
	for _, p := range i.Processors {
		rev, _ := p.Get("CPU revision")
		name := names.get(rev, modelName)
		for k := range p.Fields {
			switch p.Fields[k].Key {
			case "model name":
				p.Fields[k].Value = name
			case "CPU architecture":
				p.Fields[k].Value = "7"
			}
		}
	}
	return i
}

// memo remembers the last result of a string function: the blocks of one
// cpuinfo nearly always share their revision and Features, so each derived
// string is built once, not once per CPU.
type memo struct {
	in, out string
	ok      bool
}

func (m *memo) get(in string, f func(string) string) string {
	if !m.ok || m.in != in {
		m.in, m.out, m.ok = in, f(in), true
	}
	return m.out
}

// modelName is the model name a 32-bit ARM kernel prints for an ARMv7/v8
// core of the given revision (cpu_name "ARMv7 Processor", elf_platform
// "v7" + 'l'). A revision that is not a decimal number counts as 0.
func modelName(rev string) string {
	if _, err := cpuNumber(rev); err != nil {
		rev = "0"
	}
	return "ARMv7 Processor rev " + rev + " (v7l)"
}

// Features32 derives the 32-bit ARM Features of a CPU from its arm64
// Features (64-bit hwcaps), the way an arm64 kernel (6.1) computes the
// compat hwcaps it shows a LINUX32 reader: half, thumb, fastmult, edsp,
// tls, idiva, idivt and lpae are always present; fp gives vfp, vfpv3 and
// vfpv4; asimd gives neon; evtstrm, aes, pmull, sha1, sha2 and crc32 carry
// over. Tokens come out in the kernel's order; other 64-bit hwcaps have no
// 32-bit name and are dropped.
func Features32(features64 string) string {
	var have struct{ fp, asimd, evtstrm, aes, pmull, sha1, sha2, crc32 bool }
	for tok := range strings.FieldsSeq(features64) {
		switch tok {
		case "fp":
			have.fp = true
		case "asimd":
			have.asimd = true
		case "evtstrm":
			have.evtstrm = true
		case "aes":
			have.aes = true
		case "pmull":
			have.pmull = true
		case "sha1":
			have.sha1 = true
		case "sha2":
			have.sha2 = true
		case "crc32":
			have.crc32 = true
		}
	}
	toks := make([]string, 0, 18)
	add := func(on bool, names ...string) {
		if on {
			toks = append(toks, names...)
		}
	}
	add(true, "half", "thumb", "fastmult")
	add(have.fp, "vfp")
	add(true, "edsp")
	add(have.asimd, "neon")
	add(have.fp, "vfpv3")
	add(true, "tls")
	add(have.fp, "vfpv4")
	add(true, "idiva", "idivt", "lpae")
	add(have.evtstrm, "evtstrm")
	add(have.aes, "aes")
	add(have.pmull, "pmull")
	add(have.sha1, "sha1")
	add(have.sha2, "sha2")
	add(have.crc32, "crc32")
	return strings.Join(toks, " ")
}
