package lxc

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// RootfsShell is the program every armhf-lxc container needs: the init
// script, exec's environment and --docker run through it.
const RootfsShell = "/bin/sh"

// CheckRootfs verifies that dir looks like a root filesystem armhf-lxc can
// run: a directory with an executable RootfsShell (symlinks resolved
// inside dir, as the container will see them).
func CheckRootfs(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("root filesystem %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("root filesystem %s is not a directory", dir)
	}
	sh, err := securejoin.SecureJoin(dir, RootfsShell)
	if err != nil {
		return fmt.Errorf("root filesystem %s: resolving %s: %w", dir, RootfsShell, err)
	}
	fi, err = os.Stat(sh)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("root filesystem %s has no executable %s: not a usable root filesystem (empty, corrupt, or the tarball has an extra top-level directory?)", dir, RootfsShell)
	}
	return nil
}

// HasPath reports whether p (absolute, in the container) exists in the root
// filesystem dir, resolving symlinks inside dir.
func HasPath(dir, p string) bool {
	full, err := securejoin.SecureJoin(dir, p)
	if err != nil {
		return false
	}
	_, err = os.Stat(full)
	return err == nil
}

// UserlandMismatch says why the ELF header of a root filesystem's shell is
// not the 32-bit userland lxc.arch stands for (ARM EABI for armv7l, i386
// for i686), or returns "" when it is. A 64-bit rootfs still runs (the
// kernel runs 64-bit programs in LINUX32 too) but is not what armhf-lxc is
// for.
func UserlandMismatch(class elf.Class, machine elf.Machine, lxcArch string) string {
	want := elf.EM_ARM
	if lxcArch == "i686" {
		want = elf.EM_386
	}
	if class == elf.ELFCLASS32 && machine == want {
		return ""
	}
	return fmt.Sprintf("%s is %s %s, not the 32-bit %s userland lxc.arch=%s is meant for", RootfsShell, class, machine, want, lxcArch)
}

// CheckUserland applies UserlandMismatch to dir's RootfsShell.
func CheckUserland(dir, lxcArch string) string {
	sh, err := securejoin.SecureJoin(dir, RootfsShell)
	if err != nil {
		return err.Error()
	}
	f, err := elf.Open(sh)
	if err != nil {
		return fmt.Sprintf("%s: %v", RootfsShell, err)
	}
	defer f.Close()
	return UserlandMismatch(f.Class, f.Machine, lxcArch)
}

// Unpack extracts the tarball (plain, gzip, xz, bzip2 or zstd; GNU tar
// detects the compression) into the existing empty directory dst,
// preserving owners, modes and device nodes. GNU tar strips leading "/",
// refuses ".." members and creates symlinks only after every other member,
// so a hostile archive cannot write outside dst.
func Unpack(ctx context.Context, tarball, dst string) error {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		return fmt.Errorf("unpacking %s: GNU tar not found: %w", tarball, err)
	}
	cmd := exec.CommandContext(ctx, tarBin, "--extract", "--file", tarball, "--directory", dst,
		"--numeric-owner", "--same-owner", "--preserve-permissions", "--xattrs", "--xattrs-include=*", "--no-overwrite-dir")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("unpacking %s: %v: %s", tarball, err, lastLines(out.String(), 5))
	}
	return nil
}

// DebootstrapArgs is the debootstrap command line that builds a root
// filesystem of the Debian arch (armhf, i386) for suite in dst, with the
// packages include besides ca-certificates.
func DebootstrapArgs(arch, suite, dst, mirror string, include []string) []string {
	pkgs := append([]string{"ca-certificates"}, include...)
	args := []string{"--arch=" + arch, "--variant=minbase", "--include=" + strings.Join(pkgs, ","), suite, dst}
	if mirror != "" {
		args = append(args, mirror)
	}
	return args
}

// Debootstrap runs debootstrap (see DebootstrapArgs), its output going to
// log. It runs natively: the host must execute the 32-bit userland (an
// AArch32-capable arm64 CPU, or any x86_64 for i386).
func Debootstrap(ctx context.Context, arch, suite, dst, mirror string, include []string, log io.Writer) error {
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		return fmt.Errorf("--debootstrap needs debootstrap (apt-get install debootstrap): %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, DebootstrapArgs(arch, suite, dst, mirror, include)...)
	var tail bytes.Buffer
	w := io.MultiWriter(log, &tail)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		msg := lastLines(tail.String(), 5)
		if b, rerr := os.ReadFile(filepath.Join(dst, "debootstrap", "debootstrap.log")); rerr == nil {
			msg += "\n" + lastLines(string(b), 10)
		}
		return fmt.Errorf("debootstrap --arch=%s %s: %v: %s", arch, suite, err, msg)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CommandNotFoundError is a command that does not exist in a container.
// Shells exit 127 for it, and so does armhf-lxc exec.
type CommandNotFoundError struct {
	Cmd  string
	Path string // the PATH searched, for a bare name
}

func (e *CommandNotFoundError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: not found in the container (no such executable file)", e.Cmd)
	}
	return fmt.Sprintf("%s: command not found in the container (PATH=%s)", e.Cmd, e.Path)
}

// LookPathIn finds cmd in the file system rooted at root (a rootfs, or
// /proc/PID/root of a running container) as execvp would with PATH in the
// working directory cwd (absolute, in the container; "" = /), resolving
// symlinks inside root: a relative cmd containing '/', and the PATH
// entries "", "." or any relative one, are relative to cwd. It returns a
// *CommandNotFoundError when there is no executable regular file to run.
func LookPathIn(root, cmd, pathEnv, cwd string) error {
	if cwd == "" {
		cwd = "/"
	}
	// in is p, relative to cwd unless absolute. Not cleaned: SecureJoin
	// applies ".." after resolving the symlinks before it, as the kernel.
	in := func(p string) string {
		if path.IsAbs(p) {
			return p
		}
		return cwd + "/" + p
	}
	isExec := func(p string) bool {
		full, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return false
		}
		fi, err := os.Stat(full)
		return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
	}
	if strings.Contains(cmd, "/") {
		if isExec(in(cmd)) {
			return nil
		}
		return &CommandNotFoundError{Cmd: cmd}
	}
	dirs := filepath.SplitList(pathEnv)
	if pathEnv == "" {
		dirs = []string{""} // PATH= is one empty entry, as for execvp
	}
	for _, d := range dirs {
		if d == "" {
			d = "."
		}
		if isExec(in(d) + "/" + cmd) {
			return nil
		}
	}
	return &CommandNotFoundError{Cmd: cmd, Path: pathEnv}
}

// CheckDirIn checks that dir (absolute, in the file system rooted at root)
// is a directory, resolving symlinks inside root.
func CheckDirIn(root, dir string) error {
	full, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return err
	}
	fi, err := os.Stat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such directory in the container", dir)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory in the container", dir)
	}
	return nil
}

// envValue is the value of the last KEY=... in env.
func envValue(env []string, key string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}
