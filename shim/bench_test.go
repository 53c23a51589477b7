package shim

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPrepare is the runtime wrapper's own work before it execs runc,
// on the Docker 20.10 fixture config: a 32-bit create (decide, render or
// link the cached cpuinfo, rewrite config.json), a 64-bit create (decide
// and pass through) and a passthrough command.
func BenchmarkPrepare(b *testing.B) {
	for _, tc := range []struct {
		name string
		exe  []byte
		args func(dir string) []string
	}{
		{"create-32bit", i386Exe, func(dir string) []string { return []string{"create", "--bundle", dir, "c32"} }},
		{"create-64bit", amd64Exe, func(dir string) []string { return []string{"create", "--bundle", dir, "c64"} }},
		{"kill-passthrough", amd64Exe, func(string) []string { return []string{"kill", "c64", "9"} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b)
			dir, config := bundle(b, tc.exe, nil)
			cfg := filepath.Join(dir, "config.json")
			args := tc.args(dir)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := os.WriteFile(cfg, config, 0o600); err != nil {
					b.Fatal(err)
				}
				w.log.Reset()
				b.StartTimer()
				if _, err := w.prepare(args...); err != nil {
					b.Fatalf("%v\n%s", err, w.log.String())
				}
			}
		})
	}
}
