package bench

// Section 1, a real build: Debian's zlib source package configured and
// built (./configure --static && make) in a 32-bit Debian chroot of the
// host's compat architecture (i386 here, armhf on arm64), three ways in
// one run: without the shim, through `armhf-shim exec`, and under QEMU user
// emulation. The first two are the same 32-bit work; the shim's goal is to
// cost at most 1% of it.
//
// QEMU follows a build's many processes only through a binfmt_misc
// handler, and binfmt_misc is consulted before the kernel's ELF loaders: a
// handler for the compat ELF would take every 32-bit binary on the
// machine, the other two cases' included. So the QEMU case runs under
// binfmtrun (test/bench/binfmt), which registers the handler in a user
// namespace's own binfmt_misc instance and removes it afterwards; only the
// build's processes see it.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/test/bench/benchkit"
	"github.com/armhf-shim/armhf-shim/test/bench/binfmt"
	"github.com/armhf-shim/armhf-shim/uname"
)

// benchMachine is the --machine case's uname -m.
const benchMachine = "armv7l"

// buildSourcePackage is the Debian source package built: small enough for
// QEMU to build it in about a minute, and a configure-and-make project.
const buildSourcePackage = "zlib"

// The chroot's build: a fresh source tree at /bench/src for every run,
// configured and built with the host's CPU count of jobs.
func buildScript(jobs int) string {
	return fmt.Sprintf("cd /bench/src/* && ./configure --static >/dev/null && make -j%d >/dev/null", jobs)
}

// osCodename is this Debian's release name (bookworm).
func osCodename(t *testing.T) string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION_CODENAME="); ok && v != "" {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatal("/etc/os-release names no VERSION_CODENAME")
	return ""
}

// buildRootfs is a Debian root filesystem of arch with gcc, make and the C
// library's headers, made once with debootstrap and kept in
// .cache/bench/rootfs-ARCH-CODENAME.
func buildRootfs(t *testing.T, arch, codename string) string {
	dir := filepath.Join(testenv.CacheDir(t, "bench"), "rootfs-"+arch+"-"+codename)
	if _, err := os.Stat(filepath.Join(dir, "usr", "bin", "make")); err == nil {
		return dir
	}
	debootstrap := testenv.RequireCommand(t, "debootstrap")
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	t.Logf("debootstrap --arch=%s %s (once, into %s)", arch, codename, dir)
	cmd := exec.Command(debootstrap, "--arch="+arch, "--variant=minbase", "--include=gcc,make,libc6-dev", codename, tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(tmp, "debootstrap", "debootstrap.log"))
		testenv.Require(t, false, "debootstrap --arch=%s %s: %v: %s\n%s", arch, codename, err, lastLines(out, 10), lastLines(log, 10))
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildSource is the upstream tarball of the source package pkg of
// codename, fetched once with `apt-get source --download-only` into
// .cache/bench/src/PKG. apt reads a private copy of the system's deb822
// sources with deb-src in place of deb, and keeps its own lists, so the
// system's apt configuration and state are not touched.
func buildSource(t *testing.T, pkg, codename string) string {
	cache := testenv.CacheDir(t, "bench")
	dl := filepath.Join(cache, "src", pkg)
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.orig.tar.*"))
		if len(m) == 0 {
			return ""
		}
		return m[len(m)-1]
	}
	if p := find(); p != "" {
		return p
	}
	apt := filepath.Join(cache, "apt")
	parts := filepath.Join(apt, "sources.list.d")
	for _, d := range []string{parts, filepath.Join(apt, "lists", "partial"), filepath.Join(apt, "cache", "archives", "partial"), dl} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sys, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	n := 0
	for _, f := range sys {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := strings.ReplaceAll("\n"+string(b), "\nTypes: deb\n", "\nTypes: deb-src\n")
		if err := os.WriteFile(filepath.Join(parts, filepath.Base(f)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	testenv.Require(t, n > 0, "no deb822 apt sources in /etc/apt/sources.list.d to fetch the %s source package from", pkg)
	opts := []string{"-q", "-o", "Dir::Etc::SourceList=" + filepath.Join(apt, "none.list"), "-o", "Dir::Etc::SourceParts=" + parts,
		"-o", "Dir::State::Lists=" + filepath.Join(apt, "lists"), "-o", "Dir::Cache=" + filepath.Join(apt, "cache"),
		"-o", "APT::Sandbox::User=root"}
	for _, args := range [][]string{{"update"}, {"source", "--download-only", pkg + "/" + codename}} {
		cmd := exec.Command("apt-get", append(opts, args...)...)
		cmd.Dir = dl
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Require(t, false, "apt-get %s: %v: %s", strings.Join(args, " "), err, lastLines(out, 10))
		}
	}
	p := find()
	if p == "" {
		t.Fatalf("apt-get source --download-only %s/%s left no %s_*.orig.tar.* in %s", pkg, codename, pkg, dl)
	}
	return p
}

func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// TestBuild is section 1's real build and the headline's first line.
func TestBuild(t *testing.T) {
	testenv.RequireRoot(t)
	var arch, qemuName string
	var machine byte
	switch runtime.GOARCH {
	case "amd64":
		arch, qemuName, machine = "i386", "qemu-i386-static", binfmt.EM386
	case "arm64":
		arch, qemuName, machine = "armhf", "qemu-arm-static", binfmt.EMARM
	default:
		t.Skipf("no 32-bit compat target on %s", runtime.GOARCH)
	}
	qemu := testenv.RequireCommand(t, qemuName)
	chroot := testenv.RequireCommand(t, "chroot")
	codename := osCodename(t)
	tarball := buildSource(t, buildSourcePackage, codename)
	rootfs := buildRootfs(t, arch, codename)
	shim := testenv.BuildBinary(t, "./cmd/armhf-shim")
	runner := testenv.BuildBinary(t, "./test/bench/binfmt/binfmtrun")
	handler := binfmt.ELF32("armhf-shim-bench-"+arch, machine, qemu)
	jobs := runtime.NumCPU()
	rounds := benchkit.EnvInt("ARMHF_SHIM_BENCH_BUILD_ROUNDS", 6)
	qemuRounds := min(rounds, benchkit.EnvInt("ARMHF_SHIM_BENCH_BUILD_QEMU_ROUNDS", 2))

	work := filepath.Join(rootfs, "bench")
	t.Cleanup(func() { os.RemoveAll(work) })
	inChroot := func(script string) []string {
		return []string{chroot, rootfs, "/usr/bin/env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "/bin/sh", "-c", script}
	}
	ways := map[string]func(argv []string) (*exec.Cmd, error){
		"direct": func(argv []string) (*exec.Cmd, error) { return exec.Command(argv[0], argv[1:]...), nil },
		"shim": func(argv []string) (*exec.Cmd, error) {
			return exec.Command(shim, append([]string{"exec", "--"}, argv...)...), nil
		},
		"qemu": func(argv []string) (*exec.Cmd, error) { return binfmt.Command(runner, handler, argv...) },
		// uname answered through seccomp user notification (docs/uname.md).
		"machine": func(argv []string) (*exec.Cmd, error) {
			return exec.Command(shim, append([]string{"exec", "--machine", benchMachine, "--"}, argv...)...), nil
		},
	}
	run := func(way, script string) (string, time.Duration, error) {
		cmd, err := ways[way](inChroot(script))
		if err != nil {
			return "", 0, err
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err = cmd.Run()
		d := time.Since(start)
		if err != nil {
			return "", 0, fmt.Errorf("%v: %v: %s", cmd.Args, err, lastLines(out.Bytes(), 15))
		}
		return out.String(), d, nil
	}

	// Each way does what it claims (untimed): without the shim the 32-bit
	// uname reports the 64-bit machine, through it the compat one, and
	// under the handler QEMU's own.
	probe := map[string]string{}
	for way := range ways {
		out, _, err := run(way, "uname -m")
		if err != nil {
			t.Fatal(err)
		}
		probe[way] = strings.TrimSpace(out)
	}
	if probe["shim"] != uname.HostCompatMachine() || probe["qemu"] == probe["direct"] || probe["qemu"] == "" || probe["machine"] != benchMachine {
		t.Fatalf("uname -m in the %s chroot: %v; want %s through the shim, %s with --machine and QEMU's machine, not %q, under the handler",
			arch, probe, uname.HostCompatMachine(), benchMachine, probe["direct"])
	}

	prepare := func() error {
		if err := os.RemoveAll(work); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(work, "src"), 0o755); err != nil {
			return err
		}
		// Owned by root: root inside QEMU's user namespace is root outside.
		out, err := exec.Command("tar", "--no-same-owner", "-xf", tarball, "-C", filepath.Join(work, "src")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tar -xf %s: %v: %s", tarball, err, out)
		}
		return nil
	}
	build := func(name, way string) benchkit.Case {
		return benchkit.Case{Name: name, Run: func() (time.Duration, error) {
			if err := prepare(); err != nil {
				return 0, err
			}
			_, d, err := run(way, buildScript(jobs))
			return d, err
		}}
	}
	direct := build("32-bit build without the shim", "direct")
	viaShim := build("32-bit build via armhf-shim exec", "shim")
	underQEMU := build("32-bit build under "+qemuName, "qemu")
	withMachine := build("32-bit build via armhf-shim exec --machine "+benchMachine, "machine")
	// One unmeasured build: the chroot's compiler comes into the page cache.
	if _, err := direct.Run(); err != nil {
		t.Fatal(err)
	}
	// QEMU takes ten times as long and its ratio is large: it joins the
	// first rounds only; the shim's ratio to the build without it, the one
	// judged against 1%, gets every round.
	res, err := benchkit.Alternate(0, qemuRounds, direct, viaShim, underQEMU, withMachine)
	if err != nil {
		t.Fatal(err)
	}
	more, err := benchkit.Alternate(0, rounds-qemuRounds, direct, viaShim, withMachine)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range []int{0, 1, 3} {
		res[j].Samples = append(res[j].Samples, more[i].Samples...)
	}
	for _, r := range res {
		t.Logf("%-40s median %s  q1 %s  samples %v", r.Name, benchkit.Format(r.Median()), benchkit.Format(r.Q1()), r.Samples)
	}
	a, b, c, m := res[0], res[1], res[2], res[3]
	const goal = 1.01
	machineRatio := benchkit.CompareCI(m, b, 2000)
	shimRatio := benchkit.CompareCI(b, a, 2000)
	qemuRatio := benchkit.Compare(c, b)
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tarball), buildSourcePackage+"_"), filepath.Ext(filepath.Base(tarball)))
	version = strings.TrimSuffix(strings.TrimSuffix(version, ".tar"), ".orig")
	what := fmt.Sprintf("%s %s (`./configure --static && make -j%d`) in a Debian %s %s chroot", buildSourcePackage, version, jobs, codename, arch)
	sec := "1 native vs emulation: a real build"
	rep.add(sec, "via armhf-shim exec / the same 32-bit build without the shim: the shim's own cost",
		benchkit.Format(b.Median())+" / "+benchkit.Format(a.Median()), shimRatio.String(), fmt.Sprintf("≤ %.2f: %s", goal, shimRatio.Verdict(goal)))
	rep.add(sec, "via armhf-shim exec --machine "+benchMachine+" / via armhf-shim exec: the cost of uname answered through seccomp user notification",
		benchkit.Format(m.Median())+" / "+benchkit.Format(b.Median()), machineRatio.String(), fmt.Sprintf("≤ %.2f: %s", goal, machineRatio.Verdict(goal)))
	rep.add(sec, "under QEMU user emulation / via armhf-shim exec",
		benchkit.Format(c.Median())+" / "+benchkit.Format(b.Median()), ratioCell(qemuRatio), "")
	rep.add(sec, "under QEMU user emulation / without the shim",
		benchkit.Format(c.Median())+" / "+benchkit.Format(a.Median()), ratioCell(benchkit.Compare(c, a)), "")
	rep.headline(0, fmt.Sprintf("**A real 32-bit build** — %s: through `armhf-shim exec` **%.3f×** the same build without the shim "+
		"(%s; 95%% CI %.3f–%.3f; goal ≤ %.2f: %s); under QEMU user emulation **%.1f×** the shim's time.",
		what, shimRatio.Est, benchkit.Format(b.Median()), shimRatio.Lo, shimRatio.Hi, goal, shimRatio.Verdict(goal), qemuRatio.Median))
	rep.note("Section 1 (a real build): %s, a fresh source tree for every build (unpacked untimed), after one unmeasured build; "+
		"%d rounds of the build without the shim, through it and through it with --machine %s, QEMU in the first %d of them. "+
		"`uname -m` in the chroot: %q without the shim, %q through it, %q with --machine, %q under QEMU. QEMU (%s) runs the build through a binfmt_misc handler (%s, flag F) registered in a user "+
		"namespace's own binfmt_misc instance for that build only and removed afterwards (test/bench/binfmt): binfmt_misc is consulted "+
		"before the kernel's own ELF loader, so the same handler registered for the machine would have emulated the other two cases too.",
		what, rounds, benchMachine, qemuRounds, probe["direct"], probe["shim"], probe["machine"], probe["qemu"], qemu, handler.Name)
}
