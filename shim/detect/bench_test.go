package detect

import "testing"

// BenchmarkInspect is the auto-detection of every container the wrapper
// sees: resolve `sh` through PATH and a symlink inside the rootfs, read the
// ELF header.
func BenchmarkInspect(b *testing.B) {
	root := mkroot(b, tree{"bin/busybox": i386Exe, "bin/sh": "busybox", "usr/bin/env": "../../bin/busybox"})
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e, err := Inspect(root, []string{"sh", "-c", "true"}, env, "/")
		if err != nil || e.Machine != EM386 {
			b.Fatalf("%+v %v", e, err)
		}
	}
}
