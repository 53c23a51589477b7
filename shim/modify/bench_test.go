package modify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/spec"
)

// BenchmarkSpecLoadModifyFlush is what the runtime wrapper does to a
// 32-bit container's bundle: load Docker 20.10's config.json, apply the
// 32-bit modifiers, write it back atomically.
func BenchmarkSpecLoadModifyFlush(b *testing.B) {
	orig := testenv.DockerConfig(b)
	path := filepath.Join(b.TempDir(), "config.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(orig)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		d, err := spec.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := Apply(d, For32Bit("/run/armhf-shim/cache/cpuinfo-0-1")...); err != nil {
			b.Fatal(err)
		}
		out, err := d.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		if err := fsutil.ReplaceOwnedFile(path, out, 0o644, os.Getuid(), os.Getgid()); err != nil {
			b.Fatal(err)
		}
	}
}
