package cpuinfo

import (
	"strconv"
	"testing"
)

// benchRender measures, for n CPUs of an arm64 host's LINUX32 view:
//
//   - render: Render of the finished armv7 Info (what is paid per write);
//   - pipeline: everything HostView does after reading /proc/cpuinfo
//     (Parse, Select, ARMv7, Render).
func benchRender(b *testing.B, n int) {
	raw := replicate(b, "qemu-cortex-a72-linux32.txt", n)
	all := mustSet(b, "0-"+strconv.Itoa(n-1))
	b.Run("render", func(b *testing.B) {
		v := mustParse(b, raw).ARMv7()
		b.ReportAllocs()
		b.SetBytes(int64(len(v.Render())))
		for b.Loop() {
			_ = v.Render()
		}
	})
	b.Run("pipeline", func(b *testing.B) {
		h := hostText{path: ProcCPUInfo, data: raw, linux32: true}
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := hostView(h, all, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRender2(b *testing.B)   { benchRender(b, 2) }
func BenchmarkRender64(b *testing.B)  { benchRender(b, 64) }
func BenchmarkRender192(b *testing.B) { benchRender(b, 192) }

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"linux32-64cpu", replicate(b, "qemu-cortex-a72-linux32.txt", 64)},
		{"x86-64cpu", replicate(b, "x86_64-amd-epyc-2cpu.txt", 64)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.raw)))
			for b.Loop() {
				if _, err := Parse(tc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Allocation counts are deterministic, so they are tested (times are not).
func TestAllocs(t *testing.T) {
	for _, n := range []int{2, 64, 192} {
		raw := replicate(t, "qemu-cortex-a72-linux32.txt", n)
		v := mustParse(t, raw).ARMv7()
		if a := testing.AllocsPerRun(20, func() { _ = v.Render() }); a != 1 {
			t.Errorf("%d CPUs: Render makes %v allocations, want 1", n, a)
		}
		h := hostText{path: ProcCPUInfo, data: raw, linux32: true}
		for _, tc := range []struct {
			set string
			max float64
		}{
			{"0-" + strconv.Itoa(n-1), 10}, // every CPU: no Select copy
			{"1-" + strconv.Itoa(n-1), 14}, // a cpuset: Select copies
		} {
			set := mustSet(t, tc.set)
			a := testing.AllocsPerRun(20, func() { _, _ = hostView(h, set, false) })
			if a > tc.max {
				t.Errorf("%d CPUs, set %s: the pipeline makes %v allocations, want at most %v", n, tc.set, a, tc.max)
			}
			t.Logf("%d CPUs, set %s: pipeline %v allocations", n, tc.set, a)
		}
	}
}
