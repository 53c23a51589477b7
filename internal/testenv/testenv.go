// Package testenv gives armhf-shim's tests the real things they run
// against: root, Debian packages, busybox root filesystems of any
// architecture, freshly built binaries, and throw-away Docker daemons.
//
// The model: a prerequisite that is missing makes a test skip with a clear
// reason, except under `make test` (ARMHF_SHIM_REQUIRE=1), where the
// project's own scripts have installed everything and a missing
// prerequisite is a failure, not a silent skip. Everything a helper starts
// or creates is removed again through t.Cleanup.
package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips the test with the reason unless ok; under
// ARMHF_SHIM_REQUIRE=1 it fails instead.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("ARMHF_SHIM_REQUIRE") == "1" {
		t.Fatalf("prerequisite missing (ARMHF_SHIM_REQUIRE=1): %s", msg)
	}
	t.Skip("prerequisite missing: " + msg)
}

// SkipShort skips a test that starts daemons, containers or VMs under
// `go test -short`, the quick loop, naming what it would have started;
// make test runs it.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips tests that start " + what + " (make test runs them)")
	}
}

// RequireRoot requires euid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root (mounts, namespaces, runc, dockerd)")
}

// RequireCommand requires an executable on PATH (or at an absolute path)
// and returns its absolute path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, "%s not found: run scripts/install-deps.sh", name)
	abs, _ := filepath.Abs(p)
	return abs
}

var (
	rootOnce sync.Once
	rootDir  string
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Dir(file)
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				panic("testenv: go.mod not found above " + file)
			}
			dir = parent
		}
	})
	return rootDir
}

// DockerConfig is testdata/oci/docker-20.10-config.json: the config.json
// Docker 20.10 wrote for a container (17 kB as captured, most of it the
// seccomp profile), the fixture of every test of what the runtime
// wrapper reads and edits.
func DockerConfig(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "testdata", "oci", "docker-20.10-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CacheDir is a git-ignored cache directory of the project (.cache/NAME),
// created on demand.
func CacheDir(t testing.TB, name string) string {
	t.Helper()
	d := filepath.Join(RepoRoot(), ".cache", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// lockDir takes an exclusive flock on dir/.lock (test packages run in
// parallel processes and share the cache) and returns the unlock function.
func lockDir(t testing.TB, dir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }
}

// DebFile returns a cached .deb of pkg (e.g. "busybox-static:i386"),
// fetched with apt-get download on first use.
func DebFile(t testing.TB, pkg string) string {
	t.Helper()
	dir := CacheDir(t, "debs")
	unlock := lockDir(t, dir)
	defer unlock()
	name, arch, _ := strings.Cut(pkg, ":")
	pattern := filepath.Join(dir, name+"_*")
	if arch != "" {
		pattern += "_" + arch + ".deb"
	} else {
		pattern += ".deb"
	}
	if m, _ := filepath.Glob(pattern); len(m) > 0 {
		return m[len(m)-1]
	}
	_, err := exec.LookPath("apt-get")
	Require(t, err == nil, "apt-get not found: cannot fetch %s", pkg)
	tmp, err := os.MkdirTemp(dir, "dl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", "download", "-q", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		// The foreign architecture may not be configured yet.
		Require(t, false, "apt-get download %s: %v: %s (run scripts/install-deps.sh)", pkg, err, out)
	}
	m, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(m) != 1 {
		t.Fatalf("apt-get download %s left %v", pkg, m)
	}
	dst := filepath.Join(dir, filepath.Base(m[0]))
	if err := os.Rename(m[0], dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Applets linked into /bin of a BusyboxRootfs.
var busyboxApplets = []string{
	"sh", "ash", "uname", "cat", "ls", "sleep", "true", "false", "echo", "env", "mkdir", "rm",
	"id", "head", "tail", "grep", "sed", "test", "[", "ps", "mount", "umount", "wc", "nproc", "printf",
	"tee", "touch", "cp", "mv", "ln", "chmod", "sort", "md5sum", "sha256sum", "gzip", "gunzip", "tar",
	"yes", "seq", "expr", "find", "xargs", "readlink", "dd", "hostname", "stat", "tr", "cut", "date",
	"awk", "which", "setarch", "linux32", "kill", "pwd",
}

// BusyboxRootfs returns a fresh root filesystem under t.TempDir() with
// Debian's static busybox of arch ("i386", "amd64", "armhf", "arm64") at
// /bin/busybox, applet links in /bin, and the usual empty mount points.
func BusyboxRootfs(t testing.TB, arch string) string {
	t.Helper()
	deb := DebFile(t, "busybox-static:"+arch)
	root := filepath.Join(t.TempDir(), "rootfs-"+arch)
	ex := filepath.Join(t.TempDir(), "deb")
	if out, err := exec.Command("dpkg-deb", "-x", deb, ex).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x %s: %v: %s", deb, err, out)
	}
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc", "root", "run", "usr/bin", "sbin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	data, err := os.ReadFile(filepath.Join(ex, "bin", "busybox"))
	if err != nil {
		t.Fatalf("%s has no bin/busybox: %v", deb, err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	return root
}

// BuildFlags are the flags of `make build`: tests and benchmarks run the
// binary as it ships.
var BuildFlags = []string{"-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w"}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// BuildBinary builds the main package pkg (a path relative to the
// repository root, e.g. "./cmd/armhf-shim") with CGO_ENABLED=0 and the
// extra environment env (e.g. "GOARCH=arm64"), and returns the binary's
// path. Builds go to .cache/testbin and lean on Go's build cache.
func BuildBinary(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	return BuildBinaryTags(t, pkg, "", env...)
}

// BuildBinaryTags is BuildBinary with the build tags tags (comma-separated)
// added to those of BuildFlags.
func BuildBinaryTags(t testing.TB, pkg, tags string, env ...string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := pkg + "\x00" + tags + "\x00" + strings.Join(env, "\x00")
	if p, ok := built[key]; ok {
		return p
	}
	flags := slices.Clone(BuildFlags)
	if tags != "" {
		i := slices.Index(flags, "-tags")
		flags[i+1] += "," + tags
	}
	// The checkout is part of the name: test processes of two checkouts
	// sharing one .cache must not run each other's builds.
	sum := sha256.Sum256([]byte(RepoRoot() + "\x00" + key))
	dir := CacheDir(t, "testbin")
	out := filepath.Join(dir, filepath.Base(pkg)+"-"+hex.EncodeToString(sum[:6]))
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", tmp, pkg)...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("go build %s (%v): %v\n%s", pkg, env, err, b)
	}
	// Install the binary as a package manager would, written with
	// write(2): a file the linker wrote through a shared mapping starts
	// measurably slower (docs/PERFORMANCE.md), and the benches compare
	// binaries, so all must be in the installed state.
	data, err := os.ReadFile(tmp)
	os.Remove(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	built[key] = out
	return out
}

// TreeDigest is a listing of every path under dir with its type, mode,
// size and content hash: equal digests mean nothing was written.
func TreeDigest(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %v %d", rel, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			io.Copy(h, f)
			f.Close()
			fmt.Fprintf(&b, " %s", hex.EncodeToString(h.Sum(nil))[:12])
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", l)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
