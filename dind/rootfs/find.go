package rootfs

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// BinDirs are where the daemon is looked for in an unpacked input, in
// order: docker:dind images keep the static binaries in /usr/local/bin, the
// static tgz in docker/, distribution packages in /usr/bin and /usr/sbin,
// and a flat directory of binaries at its top.
var BinDirs = []string{"usr/local/bin", "docker", "usr/bin", "usr/sbin", "usr/local/sbin", "bin", "sbin", "."}

// Companions are the programs dockerd runs from its PATH.
var Companions = []string{"containerd", "containerd-shim-runc-v2", "runc", "docker-init", "docker-proxy"}

// Daemon is the dockerd found in an unpacked input.
type Daemon struct {
	Dockerd string // the dockerd binary (symlinks inside the tree resolved)
	// Path are the directories to put first on dockerd's PATH: dockerd's
	// own, then every other of BinDirs that holds a companion it lacks
	// (distribution packages split them: /usr/sbin/dockerd,
	// /usr/bin/containerd).
	Path    []string
	Missing []string // companions found in none of BinDirs
	// Outside are companions whose name in Path is a symlink that the
	// kernel resolves out of the tree (an absolute link, seen from the
	// host): dockerd finds them on its PATH through the host's files.
	Outside []string
	Machine string    // ELF machine of dockerd, e.g. "EM_ARM"
	Class   elf.Class // ELFCLASS32 for a 32-bit dockerd
}

// FindDockerd locates dockerd in the tree at root. Symlinks are resolved
// inside the tree (an absolute link target means a path in the tree, as it
// would inside the container image), never on the host. A dockerd or
// companion that the host cannot start — a foreign machine, or a dynamic
// binary whose loader the host lacks — is an error naming the cause.
func FindDockerd(root string) (*Daemon, error) {
	for _, dir := range BinDirs {
		p, err := securejoin.SecureJoin(root, filepath.Join(dir, "dockerd"))
		if err != nil {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		d := &Daemon{Dockerd: p}
		own, _ := securejoin.SecureJoin(root, dir)
		d.Path = append(d.Path, own)
		if rd := filepath.Dir(p); rd != own {
			d.Path = append(d.Path, rd)
		}
		found := map[string]string{} // companion -> its path as dockerd's PATH lookup sees it
		for _, c := range Companions {
			hp, where, outside := findCompanion(root, d.Path, c)
			if where == "" {
				// Not beside dockerd: any other binary directory of the tree.
				var others []string
				for _, o := range BinDirs {
					if od, err := securejoin.SecureJoin(root, o); err == nil && !slices.Contains(d.Path, od) {
						others = append(others, od)
					}
				}
				hp, where, outside = findCompanion(root, others, c)
				if where != "" && !outside {
					d.Path = append(d.Path, where)
				}
			}
			switch {
			case outside:
				d.Outside = append(d.Outside, c)
			case where == "":
				d.Missing = append(d.Missing, c)
			default:
				found[c] = hp
			}
		}
		f, err := openELF(p)
		if err != nil {
			return nil, err
		}
		d.Machine, d.Class = f.Machine.String(), f.Class
		if !runnable(f.Machine) {
			return nil, fmt.Errorf("%s is a %s binary, which this %s host cannot run natively; use the input for this host's 32-bit architecture (%s)",
				strings.TrimPrefix(p, root), f.Machine, runtime.GOARCH, compatName())
		}
		if err := loaderPresent(root, "dockerd", p, f); err != nil {
			return nil, err
		}
		for _, c := range Companions {
			if hp, ok := found[c]; ok {
				if cf, err := openELF(hp); err == nil {
					if err := loaderPresent(root, c, hp, cf); err != nil {
						return nil, err
					}
				}
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("no dockerd found in the input (looked in %s); give a docker:dind root filesystem or image, or Docker's static binaries tgz",
		strings.Join(BinDirs, ", "))
}

// findCompanion looks for the program c in the directories dirs (paths in
// the tree) as dockerd's PATH lookup would: it returns the file the host
// reaches, the directory it is in, and whether the host's lookup leaves the
// tree (an absolute symlink) on the way.
func findCompanion(root string, dirs []string, c string) (hostPath, dir string, outside bool) {
	for _, pd := range dirs {
		cp, err := securejoin.SecureJoin(root, mustRel(root, filepath.Join(pd, c)))
		if err != nil {
			continue
		}
		if fi, err := os.Stat(cp); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		// dockerd's PATH lookup is the kernel's, from the host: it must
		// reach the same file.
		hp, err := filepath.EvalSymlinks(filepath.Join(pd, c))
		if tp, terr := filepath.EvalSymlinks(cp); err != nil || terr != nil || hp != tp {
			return "", pd, true
		}
		return hp, pd, false
	}
	return "", "", false
}

func mustRel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}

// elfFile is what FindDockerd needs of an ELF binary.
type elfFile struct {
	Machine elf.Machine
	Class   elf.Class
	Interp  string // PT_INTERP: the loader of a dynamic binary, "" for a static one
}

func openELF(p string) (*elfFile, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF executable (%v)", p, err)
	}
	defer f.Close()
	e := &elfFile{Machine: f.Machine, Class: f.Class}
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("%s: reading its loader name: %v", p, err)
		}
		e.Interp = strings.TrimRight(string(b), "\x00")
	}
	return e, nil
}

// loaderPresent checks that the host has the loader of the dynamic binary
// p (named name). The kernel opens PT_INTERP in the host's root, where
// dockerd runs; a loader inside the input does not help, and without one
// execve fails with a bare "no such file or directory".
func loaderPresent(root, name, p string, f *elfFile) error {
	if f.Interp == "" {
		return nil
	}
	if _, err := os.Stat(f.Interp); err == nil {
		return nil
	}
	inInput := ""
	if in, err := securejoin.SecureJoin(root, f.Interp); err == nil && exists(in) {
		inInput = " (the input's own copy does not count)"
	}
	return fmt.Errorf("%s needs the loader %s, which is not on this host%s: %s is dynamically linked, and the kernel opens its loader in the host's root, where dockerd runs; "+
		"use Docker's static binaries (the docker:dind image or the static tgz), or install the %s C library on the host (%s)",
		name, f.Interp, inInput, strings.TrimPrefix(p, root), debianArch(f), libcHint(f))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// debianArch names the architecture of a binary as Debian's multiarch does.
func debianArch(f *elfFile) string {
	switch f.Machine {
	case elf.EM_ARM:
		if strings.Contains(f.Interp, "armhf") {
			return "armhf"
		}
		return "armel"
	case elf.EM_386:
		return "i386"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_X86_64:
		return "amd64"
	}
	return f.Machine.String()
}

func libcHint(f *elfFile) string {
	a := debianArch(f)
	return "Debian/Ubuntu: dpkg --add-architecture " + a + " && apt-get update && apt-get install libc6:" + a
}

// runnable reports whether this host executes binaries of machine m
// natively: its own architecture or its 32-bit compat one.
func runnable(m elf.Machine) bool {
	switch runtime.GOARCH {
	case "arm64":
		return m == elf.EM_AARCH64 || m == elf.EM_ARM
	case "amd64":
		return m == elf.EM_X86_64 || m == elf.EM_386
	case "arm":
		return m == elf.EM_ARM
	case "386":
		return m == elf.EM_386
	}
	return true
}

func compatName() string {
	switch runtime.GOARCH {
	case "arm64", "arm":
		return "armhf, e.g. docker:dind for linux/arm/v7"
	case "amd64", "386":
		return "i386 or amd64"
	}
	return runtime.GOARCH
}
