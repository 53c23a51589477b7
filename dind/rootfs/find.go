package rootfs

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
	Dockerd string   // the dockerd binary (symlinks inside the tree resolved)
	Path    []string // directories to put first on dockerd's PATH
	Missing []string // companions found in none of Path
	// Outside are companions whose name in Path is a symlink that the
	// kernel resolves out of the tree (an absolute link, seen from the
	// host): dockerd finds them on its PATH through the host's files.
	Outside []string
	Machine string // ELF machine of dockerd, e.g. "EM_ARM"
}

// FindDockerd locates dockerd in the tree at root. Symlinks are resolved
// inside the tree (an absolute link target means a path in the tree, as it
// would inside the container image), never on the host.
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
		for _, c := range Companions {
			found, outside := false, false
			for _, pd := range d.Path {
				if cp, err := securejoin.SecureJoin(root, mustRel(root, filepath.Join(pd, c))); err == nil {
					if fi, err := os.Stat(cp); err == nil && fi.Mode().IsRegular() {
						// dockerd's PATH lookup is the kernel's, from the host:
						// it must reach the same file.
						hp, err := filepath.EvalSymlinks(filepath.Join(pd, c))
						if tp, terr := filepath.EvalSymlinks(cp); err != nil || terr != nil || hp != tp {
							outside = true
							break
						}
						found = true
						break
					}
				}
			}
			switch {
			case outside:
				d.Outside = append(d.Outside, c)
			case !found:
				d.Missing = append(d.Missing, c)
			}
		}
		m, err := elfMachine(p)
		if err != nil {
			return nil, err
		}
		d.Machine = m.String()
		if !runnable(m) {
			return nil, fmt.Errorf("%s is a %s binary, which this %s host cannot run natively; use the input for this host's 32-bit architecture (%s)",
				strings.TrimPrefix(p, root), m, runtime.GOARCH, compatName())
		}
		return d, nil
	}
	return nil, fmt.Errorf("no dockerd found in the input (looked in %s); give a docker:dind root filesystem or image, or Docker's static binaries tgz",
		strings.Join(BinDirs, ", "))
}

func mustRel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}

func elfMachine(p string) (elf.Machine, error) {
	f, err := elf.Open(p)
	if err != nil {
		return 0, fmt.Errorf("%s: not an ELF executable (%v)", p, err)
	}
	defer f.Close()
	return f.Machine, nil
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
