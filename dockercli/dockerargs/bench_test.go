package dockerargs

import "testing"

// BenchmarkRewrite is the docker wrapper's pure work on a typical
// compose-style `docker run`.
func BenchmarkRewrite(b *testing.B) {
	argv := []string{"--log-level", "warn", "container", "run", "--rm", "-i", "--name", "build-42",
		"-v", "/srv/src:/src", "--workdir", "/src", "-e", "CC=gcc", "--cpuset-cpus", "0-3",
		"arm32v7/debian:bookworm", "sh", "-c", "./configure && make -j4"}
	opts := Options{CPUInfoFile: "/run/armhf-shim/cpuinfo"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, res := Rewrite(argv, opts)
		if res.Action != Rewritten || len(out) != len(argv)+2 {
			b.Fatalf("not rewritten: %v %v", res.Action, out)
		}
	}
}

// BenchmarkRewritePassthrough: every other command.
func BenchmarkRewritePassthrough(b *testing.B) {
	argv := []string{"-H", "unix:///run/docker.sock", "version", "--format", "{{.Server.Version}}"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, res := Rewrite(argv, Options{CPUInfoFile: "/run/armhf-shim/cpuinfo"}); res.Action != Passthrough {
			b.Fatal(res.Action)
		}
	}
}
