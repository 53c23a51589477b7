package systemd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/internal/testbed"
	"github.com/armhf-shim/armhf-shim/test/vm"
)

// TestSystemd boots the guest once and checks every case of bed/cases.
func TestSystemd(t *testing.T) {
	testenv.SkipShort(t, "a Debian 12 guest booting systemd under QEMU")
	testenv.RequireRoot(t)
	testenv.Require(t, runtime.GOARCH == "amd64", "the guest is amd64 and runs the host's amd64 package (GOARCH %s)", runtime.GOARCH)
	for _, c := range []string{"qemu-system-x86_64", "debootstrap", "mke2fs", "dpkg-deb"} {
		testenv.RequireCommand(t, c)
	}
	repo := testenv.RepoRoot()
	cache := testenv.CacheDir(t, "systemd")

	start := time.Now()
	img := diskImage(t, repo, cache)
	t.Logf("guest disk: %s (%s)", img["DISK"], time.Since(start).Round(time.Second))

	step := time.Now()
	payload := t.TempDir()
	buildPackage(t, repo, payload)
	testbed.CopyFile(t, testenv.Engine(t, "buildkitd"), filepath.Join(payload, "buildkitd"), 0o755)
	testbed.CopyFile(t, testenv.Engine(t, "buildctl"), filepath.Join(payload, "buildctl"), 0o755)
	rootfs := testenv.BusyboxRootfs(t, "i386")
	testbed.CopyFile(t, filepath.Join(rootfs, "bin", "busybox"), filepath.Join(payload, "busybox-i386"), 0o755)
	os.MkdirAll(filepath.Join(payload, "images"), 0o755)
	writeFile(t, filepath.Join(payload, "images", "i386.tar"), testenv.DockerArchive(t, rootfs, "bed/busybox:386", "386", "sh"))
	// Case 70-dind's 32-bit dockerd: Debian's i386 daemon packages, as TestDindDebian386 has them.
	os.MkdirAll(filepath.Join(payload, "dind-debs"), 0o755)
	for _, p := range []string{"docker.io:i386", "containerd:i386", "runc:i386", "tini:i386"} {
		deb := testenv.DebFile(t, p)
		testbed.CopyFile(t, deb, filepath.Join(payload, "dind-debs", filepath.Base(deb)), 0o644)
	}
	testbed.CopyTree(t, filepath.Join(repo, "test", "systemd", "bed"), payload)
	// The case runner's protocol printer, shared with the arm64 bed's /init.
	testbed.CopyFile(t, filepath.Join(repo, "scripts", "vm", "runcase.sh"), filepath.Join(payload, "runcase.sh"), 0o644)
	payloadImg := filepath.Join(t.TempDir(), "payload.img")
	if out, err := exec.Command("mke2fs", "-q", "-t", "ext4", "-E", "root_owner=0:0", "-L", "bed", "-d", payload, payloadImg, "512M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs -d %s: %v: %s", payload, err, out)
	}
	t.Logf("payload (package, buildkit, i386 image, i386 dockerd debs, cases): %s", time.Since(step).Round(time.Second))

	logs := filepath.Join(cache, "logs")
	step = time.Now()
	boot := exec.Command("bash", filepath.Join(repo, "scripts", "systemd", "boot.sh"), img["DISK"], img["KERNEL"], img["INITRD"], payloadImg, logs)
	var bootOut bytes.Buffer
	boot.Stdout, boot.Stderr = &bootOut, &bootOut
	err := boot.Run()
	t.Logf("boot.sh: %s, %s (logs in %s)", strings.TrimSpace(bootOut.String()), time.Since(step).Round(time.Second), logs)
	if err != nil && boot.ProcessState.ExitCode() == 3 {
		testenv.Require(t, false, "%s", bootOut.String())
	}
	text, rerr := os.ReadFile(filepath.Join(logs, "bed.log"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	rep, perr := vm.ParseSerial(string(text))
	if perr != nil {
		t.Fatal(perr)
	}
	if !rep.Started {
		t.Fatalf("the bed's runner never started in the guest (boot.sh: %v); console tail:\n%s", err, tail(filepath.Join(logs, "console.log"), 40))
	}
	if err != nil || !rep.Done {
		t.Errorf("the guest did not get through its cases (boot.sh: %v; timeout knob ARMHF_SHIM_SYSTEMD_TIMEOUT); console tail:\n%s", err, tail(filepath.Join(logs, "console.log"), 40))
	}
	cases, _ := filepath.Glob(filepath.Join(repo, "test", "systemd", "bed", "cases", "[0-9]*.sh"))
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c), ".sh")
		t.Run(name, func(t *testing.T) {
			r := rep.Case(name)
			if r == nil {
				t.Fatalf("%s never ran", name)
			}
			os.WriteFile(filepath.Join(logs, name+".stdout"), []byte(r.Stdout), 0o644)
			os.WriteFile(filepath.Join(logs, name+".stderr"), []byte(r.Stderr), 0o644)
			t.Logf("%s: rc=%d in %.1fs", name, r.RC, r.Secs)
			if !r.Ended {
				t.Fatalf("%s did not end (the guest died or hung):\n%s", name, r.Output())
			}
			check, ok := checks[name]
			if !ok {
				t.Fatalf("no check for %s (checks_test.go)", name)
			}
			check(t, r)
		})
	}
}

// diskImage runs scripts/systemd/disk.sh: DISK, KERNEL and INITRD.
func diskImage(t *testing.T, repo, cache string) map[string]string {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "systemd", "disk.sh"), cache)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 3 {
			testenv.Require(t, false, "%s", strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("scripts/systemd/disk.sh: %v: %s", err, stderr.String())
	}
	m := testbed.KeyValues(string(out))
	for _, k := range []string{"DISK", "KERNEL", "INITRD"} {
		if m[k] == "" {
			t.Fatalf("scripts/systemd/disk.sh printed no %s: %s", k, out)
		}
	}
	return m
}

// buildPackage runs make package for amd64 into a directory of its own and copies the armhf-shim
// .deb into dir: the guest installs what an operator gets.
func buildPackage(t *testing.T, repo, dir string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("make", "-C", repo, "package", "PKG_ARCHES=amd64", "PKG_DIR="+filepath.Join(out, "dist"), "PKG_BIN="+filepath.Join(out, "bin"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "dist", "armhf-shim_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("make package made %v, want one armhf-shim_*_amd64.deb", debs)
	}
	testbed.CopyFile(t, debs[0], filepath.Join(dir, filepath.Base(debs[0])), 0o644)
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(p string, n int) string {
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// units parses the "UNIT KEY=VALUE" lines the cases' show helper prints (the first value of each
// key wins: pass a section to read a later one).
func units(out string) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		u, kv, ok := strings.Cut(line, " ")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || !strings.Contains(u, ".") || strings.Contains(k, " ") {
			continue
		}
		if m[u] == nil {
			m[u] = map[string]string{}
		}
		if _, set := m[u][k]; !set {
			m[u][k] = v
		}
	}
	return m
}

// section is the text between the line "== name" and the next "== " line.
func section(out, name string) string {
	i := strings.Index(out, "== "+name+"\n")
	if i < 0 {
		return ""
	}
	s := out[i+len(name)+4:]
	if strings.HasPrefix(s, "== ") {
		return "" // an empty section
	}
	if j := strings.Index(s, "\n== "); j >= 0 {
		s = s[:j+1]
	}
	return s
}
