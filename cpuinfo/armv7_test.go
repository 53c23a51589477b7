package cpuinfo

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The LINUX32 view made armv7: field by field, only "model name" and
// "CPU architecture" change.
func TestARMv7FromLinux32(t *testing.T) {
	rpi := mustParse(t, fixture(t, "rpi3b-raspbian-armv7l.txt"))
	for _, tc := range []struct {
		name, model string
	}{
		{"qemu-cortex-a72-linux32.txt", "ARMv7 Processor rev 3 (v7l)"},
		{"qemu-neoverse-n1-linux32.txt", "ARMv7 Processor rev 1 (v7l)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := fixture(t, tc.name)
			in := mustParse(t, text)
			out := in.ARMv7()
			if !bytes.Equal(in.Render(), text) {
				t.Fatal("ARMv7 modified its input")
			}
			if out.NumProcessors() != in.NumProcessors() {
				t.Fatalf("%d processors, want %d", out.NumProcessors(), in.NumProcessors())
			}
			for k, p := range out.Processors {
				src := in.Processors[k]
				if len(p.Fields) != len(src.Fields) {
					t.Fatalf("block %d: %d fields, want %d", k, len(p.Fields), len(src.Fields))
				}
				for j, f := range p.Fields {
					want := src.Fields[j]
					switch f.Key {
					case "model name":
						want.Value = tc.model
					case "CPU architecture":
						want.Value = "7"
					}
					if f != want {
						t.Errorf("block %d field %d: got %q, want %q", k, j, f, want)
					}
				}
				// The shape of a real armv7 kernel's block: same keys, same
				// padding, same order.
				if !sameShape(p.Fields, rpi.Processors[0].Fields) {
					t.Errorf("block %d keys %q differ from a real armv7 block %q", k, keys(p.Fields), keys(rpi.Processors[0].Fields))
				}
			}
			// The trailer of a real armv7 kernel, without the board lines.
			if !sameShape(out.Trailer, rpi.Trailer[:3]) {
				t.Errorf("trailer %q, want the shape of %q", out.Trailer, rpi.Trailer[:3])
			}
			if !slices.Equal(out.Trailer, GenericTrailer) {
				t.Errorf("trailer %q, want GenericTrailer", out.Trailer)
			}
			for _, f := range out.Trailer {
				if f.Key == "Model" || strings.Contains(f.Value, "Raspberry") || strings.Contains(f.Value, "BCM") {
					t.Errorf("invented a board line %q", f)
				}
			}
			// The text contains no trace of v8 / aarch64.
			r := string(out.Render())
			for _, lie := range []string{"v8l", "ARMv8", "CPU architecture: 8", "aarch64", "asimd"} {
				if strings.Contains(r, lie) {
					t.Errorf("armv7 view still says %q", lie)
				}
			}
		})
	}
}

func sameShape(a, b []Field) bool {
	return slices.EqualFunc(a, b, func(x, y Field) bool { return x.Key == y.Key && x.Sep == y.Sep })
}

// A real armv7 kernel's cpuinfo is already the truth: unchanged, trailer
// (with its Model line) included.
func TestARMv7RealARMv7Unchanged(t *testing.T) {
	text := fixture(t, "rpi3b-raspbian-armv7l.txt")
	if got := mustParse(t, text).ARMv7().Render(); !bytes.Equal(got, text) {
		t.Errorf("ARMv7 changed a real armv7 cpuinfo:\n%s", diff(text, got))
	}
}

// From the native arm64 view: Neoverse-N1's derived view is exactly what
// the kernel's LINUX32 view gives after ARMv7. QEMU's Cortex-A72 has a
// quirk: its 64-bit view lists aes, its LINUX32 view does not; the derived
// view keeps aes (the brief's mapping), and differs in nothing else.
func TestARMv7FromARM64(t *testing.T) {
	for _, tc := range []struct {
		a64, l32 string
		extra    []string // Features tokens only the derived view has
	}{
		{"qemu-neoverse-n1-aarch64.txt", "qemu-neoverse-n1-linux32.txt", nil},
		{"qemu-cortex-a72-aarch64.txt", "qemu-cortex-a72-linux32.txt", []string{"aes"}},
	} {
		t.Run(tc.a64, func(t *testing.T) {
			a64text := fixture(t, tc.a64)
			a64 := mustParse(t, a64text)
			derived := a64.ARMv7()
			truth := mustParse(t, fixture(t, tc.l32)).ARMv7()
			if !bytes.Equal(a64.Render(), a64text) {
				t.Fatal("ARMv7 modified its input")
			}
			if tc.extra == nil {
				if got, want := derived.Render(), truth.Render(); !bytes.Equal(got, want) {
					t.Errorf("derived view differs from the kernel's:\n%s", diff(want, got))
				}
				return
			}
			if len(derived.Processors) != len(truth.Processors) {
				t.Fatalf("%d processors, want %d", len(derived.Processors), len(truth.Processors))
			}
			for k, p := range derived.Processors {
				want := truth.Processors[k]
				if !sameShape(p.Fields, want.Fields) {
					t.Fatalf("block %d keys %q, want %q", k, keys(p.Fields), keys(want.Fields))
				}
				for j, f := range p.Fields {
					if f.Key == "Features" {
						got := strings.Fields(f.Value)
						w := strings.Fields(want.Fields[j].Value)
						extra := slices.DeleteFunc(slices.Clone(got), func(s string) bool { return slices.Contains(w, s) })
						if !slices.Equal(extra, tc.extra) || len(got) != len(w)+len(tc.extra) {
							t.Errorf("Features %q vs kernel %q: extra %q, want %q", f.Value, want.Fields[j].Value, extra, tc.extra)
						}
						continue
					}
					if f != want.Fields[j] {
						t.Errorf("block %d: %q, kernel view says %q", k, f, want.Fields[j])
					}
				}
			}
		})
	}
}

func TestFeatures32(t *testing.T) {
	const base = "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt lpae"
	for _, tc := range []struct{ in, want string }{
		{"fp asimd", base},
		{"asimd fp", base},
		{"fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid", base + " evtstrm aes pmull sha1 sha2 crc32"},
		{"crc32 sha2 sha1 pmull aes evtstrm asimd fp", base + " evtstrm aes pmull sha1 sha2 crc32"}, // kernel order
		{"fp", "half thumb fastmult vfp edsp vfpv3 tls vfpv4 idiva idivt lpae"},
		{"", "half thumb fastmult edsp tls idiva idivt lpae"},
		{"atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve", "half thumb fastmult edsp tls idiva idivt lpae"},
		{"fp  asimd\tevtstrm", base + " evtstrm"},
		{"fpx asimdx", "half thumb fastmult edsp tls idiva idivt lpae"}, // whole tokens only
	} {
		if got := Features32(tc.in); got != tc.want {
			t.Errorf("Features32(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The N1 fixture pair: the kernel's own mapping.
	a := mustParse(t, fixture(t, "qemu-neoverse-n1-aarch64.txt")).Processors[0]
	l := mustParse(t, fixture(t, "qemu-neoverse-n1-linux32.txt")).Processors[0]
	f64, _ := a.Get("Features")
	f32, _ := l.Get("Features")
	if got := Features32(f64); got != f32 {
		t.Errorf("Features32(%q) = %q, kernel says %q", f64, got, f32)
	}
}

// x86 has no ARM view: template blocks with the host's processor numbers.
func TestARMv7FromX86(t *testing.T) {
	text := fixture(t, "x86_64-amd-epyc-2cpu.txt")
	in := mustParse(t, text)
	out := in.ARMv7()
	if got, want := out.Render(), Template(in.NumProcessors()).Render(); !bytes.Equal(got, want) {
		t.Errorf("x86 ARMv7 is not the template:\n%s", diff(want, got))
	}
	if !bytes.Equal(in.Render(), text) {
		t.Error("ARMv7 modified its input")
	}
	// Processor numbers are kept (gaps too), so Select still works.
	gappy := mustParse(t, []byte("processor\t: 3\nvendor_id\t: GenuineIntel\n\nprocessor\t: 8\nvendor_id\t: GenuineIntel\n\n"))
	ids, _ := gappy.ARMv7().IDs()
	if !slices.Equal(ids, []int{3, 8}) {
		t.Errorf("template ids %v, want [3 8]", ids)
	}
}

// The template is the Cortex-A72 LINUX32 fixture made armv7, byte for byte.
func TestTemplate(t *testing.T) {
	truth := mustParse(t, fixture(t, "qemu-cortex-a72-linux32.txt")).ARMv7()
	if got, want := Template(2).Render(), truth.Render(); !bytes.Equal(got, want) {
		t.Errorf("Template(2) differs from the Cortex-A72 LINUX32 view made armv7:\n%s", diff(want, got))
	}
	for _, tc := range []struct{ n, want int }{{-5, 1}, {0, 1}, {1, 1}, {3, 3}, {256, 256}} {
		tpl := Template(tc.n)
		ids, err := tpl.IDs()
		if err != nil || len(ids) != tc.want {
			t.Fatalf("Template(%d): ids %v, %v", tc.n, ids, err)
		}
		for k, id := range ids {
			if id != k {
				t.Errorf("Template(%d) block %d numbered %d", tc.n, k, id)
			}
		}
		// valid cpuinfo, an armv7 view of itself
		text := tpl.Render()
		if again := mustParse(t, text).ARMv7().Render(); !bytes.Equal(again, text) {
			t.Errorf("Template(%d) is not a fixed point of ARMv7", tc.n)
		}
	}
	// Results do not share storage with each other or the package tables.
	a, b := Template(1), Template(1)
	a.Processors[0].Set("CPU part", "0xd03")
	a.Trailer[0].Value = "changed"
	if v, _ := b.Processors[0].Get("CPU part"); v != "0xd08" || b.Trailer[0].Value != "Generic DT based system" ||
		GenericTrailer[0].Value != "Generic DT based system" || templateFields[7].Value != "0xd08" {
		t.Error("Template results share storage")
	}
}

// ARMv7 is idempotent, and Select commutes with it, on every fixture and
// on selections of them.
func TestARMv7Idempotent(t *testing.T) {
	for _, tc := range fixtures {
		in := mustParse(t, fixture(t, tc.name))
		once := in.ARMv7()
		text := once.Render()
		twice := mustParse(t, text).ARMv7().Render()
		if !bytes.Equal(twice, text) {
			t.Errorf("%s: ARMv7 is not idempotent:\n%s", tc.name, diff(text, twice))
		}
		for _, s := range []string{"0", "1", "0-1", "1-7"} {
			set := mustSet(t, s)
			a, err1 := in.Select(set)
			b, err2 := once.Select(set)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: Select(%s): %v %v", tc.name, s, err1, err2)
			}
			if x, y := a.ARMv7().Render(), b.Render(); !bytes.Equal(x, y) {
				t.Errorf("%s: Select(%s) then ARMv7 differs from ARMv7 then Select:\n%s", tc.name, s, diff(y, x))
			}
		}
	}
}

// Heterogeneous and hand-built inputs: each block on its own.
func TestARMv7Mixed(t *testing.T) {
	in := mustParse(t, []byte("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n"+
		"processor\t: 1\nmodel name\t: ARMv8 Processor rev 0 (v8l)\nBogoMIPS\t: 50.00\nFeatures\t: half thumb\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd05\nCPU revision\t: x\n\n"+
		"processor\t: 2\nvendor_id\t: GenuineIntel\n\n"))
	out := string(in.ARMv7().Render())
	want := "processor\t: 0\nmodel name\t: ARMv7 Processor rev 1 (v7l)\nBogoMIPS\t: 50.00\nFeatures\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt lpae\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n" +
		"processor\t: 1\nmodel name\t: ARMv7 Processor rev 0 (v7l)\nBogoMIPS\t: 50.00\nFeatures\t: half thumb\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xd05\nCPU revision\t: x\n\n" +
		strings.Replace(string(Template(1).Render()), "processor\t: 0", "processor\t: 2", 1)
	if out != want {
		t.Errorf("mixed ARMv7:\n%s", diff([]byte(want), []byte(out)))
	}

	// A non-ARM trailer (ppc64le's) is not carried into the armv7 view.
	ppc := mustParse(t, []byte("processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nclock\t\t: 2200.000000MHz\nrevision\t: 2.2 (pvr 004e 1202)\n\n"+
		"timebase\t: 512000000\nplatform\t: pSeries\nmodel\t\t: IBM pSeries (emulated by qemu)\nmachine\t\t: CHRP IBM pSeries (emulated by qemu)\nMMU\t\t: Radix\n"))
	if got, want := ppc.ARMv7().Render(), Template(1).Render(); !bytes.Equal(got, want) {
		t.Errorf("ppc64le ARMv7:\n%s", diff(want, got))
	}
}
