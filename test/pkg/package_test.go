// Package pkg tests make package: the .deb installs, works and goes away
// without a trace; the .rpm and the arm64 .deb hold the same files.
package pkg

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// watched are the directories the package writes into: their listings must
// be the same before install and after removal.
var watched = []string{
	"/usr/bin", "/usr/lib/systemd/system", "/usr/share/doc", "/usr/share/bash-completion/completions",
	"/usr/share/zsh", "/usr/share/fish",
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dpkg runs dpkg under the lock apt runs under on this machine.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "flock", append([]string{"/tmp/armhf-apt.lock", "dpkg"}, args...)...)
}

// listing is every path under the watched directories.
func listing(t *testing.T) []string {
	var out []string
	for _, d := range watched {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if p != d {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// debFiles is `dpkg-deb -c`'s file list (no directories), as absolute paths.
func debFiles(t *testing.T, deb string) []string {
	var out []string
	for _, l := range strings.Split(run(t, "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		out = append(out, strings.TrimPrefix(f[5], "."))
	}
	sort.Strings(out)
	return out
}

func glob1(t *testing.T, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Fatalf("%s: %d matches %q", pattern, len(m), m)
	}
	return m[0]
}

func TestPackage(t *testing.T) {
	testenv.SkipShort(t, "make package and dpkg -i of the package")
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "dpkg-deb")
	testenv.RequireCommand(t, "flock")
	rpmBin := testenv.RequireCommand(t, "rpm")
	if out, err := exec.Command("dpkg-query", "-W", "armhf-shim").CombinedOutput(); err == nil {
		t.Fatalf("armhf-shim is already installed here (%s): remove it (dpkg -r armhf-shim) first", bytes.TrimSpace(out))
	}

	dist := t.TempDir()
	cmd := exec.Command("make", "package", "PKG_DIR="+dist)
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	deb := glob1(t, filepath.Join(dist, "armhf-shim_*_amd64.deb"))
	debArm := glob1(t, filepath.Join(dist, "armhf-shim_*_arm64.deb"))
	rpmAmd := glob1(t, filepath.Join(dist, "armhf-shim-[0-9]*.x86_64.rpm"))
	rpmArm := glob1(t, filepath.Join(dist, "armhf-shim-[0-9]*.aarch64.rpm"))
	files := debFiles(t, deb)

	t.Run("arm64 deb", func(t *testing.T) {
		info := run(t, "dpkg-deb", "-I", debArm)
		if !strings.Contains(info, "Architecture: arm64") {
			t.Errorf("dpkg-deb -I:\n%s", info)
		}
		if got := debFiles(t, debArm); strings.Join(got, "\n") != strings.Join(files, "\n") {
			t.Errorf("arm64 files:\n%s\namd64 files:\n%s", strings.Join(got, "\n"), strings.Join(files, "\n"))
		}
		// The binaries are static arm64 ELFs.
		dir := t.TempDir()
		run(t, "dpkg-deb", "-x", debArm, dir)
		for _, b := range []string{"armhf-shim", "armhf-runc", "armhf-docker"} {
			f, err := elf.Open(filepath.Join(dir, "usr/bin", b))
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != elf.EM_AARCH64 {
				t.Errorf("%s: machine %v", b, f.Machine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked", b)
				}
			}
			f.Close()
		}
	})

	// armhf-lxc (cgo) ships alone, for this arch, depending on liblxc.
	t.Run("lxc deb", func(t *testing.T) {
		lxc := glob1(t, filepath.Join(dist, "armhf-shim-lxc_*_amd64.deb"))
		if info := run(t, "dpkg-deb", "-I", lxc); !strings.Contains(info, "Depends: liblxc1 | liblxc1t64") {
			t.Errorf("dpkg-deb -I %s:\n%s", lxc, info)
		}
		if got := debFiles(t, lxc); strings.Join(got, " ") != "/usr/bin/armhf-lxc" {
			t.Errorf("armhf-shim-lxc files: %q", got)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		for _, c := range []struct{ rpm, arch string }{{rpmAmd, "x86_64"}, {rpmArm, "aarch64"}} {
			got := strings.Fields(run(t, rpmBin, "-qpl", c.rpm))
			var want []string
			for _, f := range files {
				want = append(want, strings.Replace(f, "/zsh/vendor-completions/", "/zsh/site-functions/", 1))
			}
			want = append(want, "/usr/share/doc/armhf-shim")
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("rpm -qpl %s:\n%s\nwant:\n%s", c.rpm, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if a := strings.TrimSpace(run(t, rpmBin, "-qp", "--qf", "%{ARCH}", c.rpm)); a != c.arch {
				t.Errorf("%s: arch %s", c.rpm, a)
			}
		}
	})

	before := listing(t)
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s exists before the package is installed: the test would not see what removal leaves", f)
		}
	}
	dpkg(t, "-i", deb)
	removed := false
	t.Cleanup(func() {
		if !removed {
			exec.Command("flock", "/tmp/armhf-apt.lock", "dpkg", "-r", "armhf-shim").Run()
		}
	})

	// dpkg -L lists exactly the package's files, and they are there.
	var listed []string
	for _, p := range strings.Split(strings.TrimSpace(run(t, "dpkg", "-L", "armhf-shim")), "\n") {
		if st, err := os.Stat(p); err != nil {
			t.Errorf("dpkg -L lists %s: %v", p, err)
		} else if !st.IsDir() {
			listed = append(listed, p)
		}
	}
	sort.Strings(listed)
	if strings.Join(listed, "\n") != strings.Join(files, "\n") {
		t.Errorf("dpkg -L files:\n%s\npackage files:\n%s", strings.Join(listed, "\n"), strings.Join(files, "\n"))
	}

	// The installed binary works: doctor answers (0 or 1: a verdict; 2 is
	// an error), and its version is the package's.
	out, err := exec.Command("/usr/bin/armhf-shim", "doctor").CombinedOutput()
	if code := exitCode(err); code != 0 && code != 1 || !strings.Contains(string(out), "kernel:") {
		t.Errorf("armhf-shim doctor: exit %d\n%s", code, out)
	}
	pkgVersion := run(t, "dpkg-query", "-W", "-f", "${Version}", "armhf-shim")
	binVersion := run(t, "/usr/bin/armhf-shim", "--version")
	hash := regexp.MustCompile(`g([0-9a-f]{7,})`).FindStringSubmatch(pkgVersion)
	if hash == nil || !strings.Contains(binVersion, hash[1]) {
		t.Errorf("package version %q, armhf-shim --version %q: not the same commit", pkgVersion, binVersion)
	}
	// Installing registered nothing: no engine config, no enabled unit.
	for _, p := range []string{"/etc/armhf-shim", "/etc/systemd/system/multi-user.target.wants/armhf-shim-cpuinfo.service", "/etc/systemd/system/multi-user.target.wants/armhf-shim-dind.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("installing the package made %s", p)
		}
	}
	// The cpuinfo unit's command makes an armv7 cpuinfo where it is told.
	unit, err := os.ReadFile("/usr/lib/systemd/system/armhf-shim-cpuinfo.service")
	if err != nil {
		t.Fatal(err)
	}
	exe := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(unit)
	if exe == nil {
		t.Fatalf("no ExecStart in\n%s", unit)
	}
	argv := strings.Fields(string(exe[1]))
	ci := filepath.Join(t.TempDir(), "run", "cpuinfo")
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = append(os.Environ(), "ARMHF_SHIM_CPUINFO="+ci)
	if out, err := c.CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s", exe[1], err, out)
	} else if b, _ := os.ReadFile(ci); !strings.Contains(string(b), "CPU architecture: 7") {
		t.Errorf("%s wrote:\n%s", exe[1], b)
	}

	dpkg(t, "-r", "armhf-shim")
	removed = true
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Status}", "armhf-shim").CombinedOutput(); err == nil && strings.TrimSpace(string(out)) != "not-installed" && strings.TrimSpace(string(out)) != "config-files" {
		t.Errorf("after dpkg -r: status %q", out)
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s is left after dpkg -r", f)
		}
	}
	after := listing(t)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("the watched directories differ after install and removal:\nbefore: %d entries, after: %d\n%s", len(before), len(after), diff(before, after))
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// diff names the entries only one of a and b has.
func diff(a, b []string) string {
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, s := range a {
		if !mb[s] {
			out = append(out, "- "+s)
		}
	}
	for _, s := range b {
		if !ma[s] {
			out = append(out, "+ "+s)
		}
	}
	return strings.Join(out, "\n")
}
