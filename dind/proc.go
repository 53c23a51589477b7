package dind

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRoot is /proc (a variable for nothing but clarity).
const procRoot = "/proc"

func cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimSuffix(b, []byte{0})), "\x00")
}

// statFields are the fields of /proc/PID/stat after the command name
// (field 3, the state, first); nil when pid is gone.
func statFields(pid int) []string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	// pid (comm) S ppid ...: comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// stat returns the state letter and parent PID of pid ("" when gone).
func stat(pid int) (state string, ppid int) {
	f := statFields(pid)
	if len(f) < 2 {
		return "", 0
	}
	pp, _ := strconv.Atoi(f[1])
	return f[0], pp
}

// startTime is the process's start time (clock ticks after boot, field 22
// of /proc/PID/stat); 0 when it cannot be read.
func startTime(pid int) uint64 {
	f := statFields(pid)
	if len(f) < 20 {
		return 0
	}
	t, _ := strconv.ParseUint(f[19], 10, 64)
	return t
}

// births are the start times of listed processes. A PID whose start time
// has changed since it was listed is another process — the kernel reused
// the PID — and is neither waited for nor signalled.
type births map[int]uint64

func (b births) add(ps []int) births {
	for _, p := range ps {
		if _, ok := b[p]; !ok {
			b[p] = startTime(p)
		}
	}
	return b
}

// same reports whether pid is still the process that was listed.
func (b births) same(pid int) bool {
	t, ok := b[pid]
	return ok && t != 0 && startTime(pid) == t
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	s, _ := stat(pid)
	return s != "" && s != "Z" && s != "X"
}

func mntNS(pid int) string {
	l, _ := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "ns", "mnt"))
	return l
}

// personality reads /proc/PID/personality (hex).
func personality(pid int) (uint32, bool) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "personality"))
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 32)
	return uint32(v), err == nil
}

func pids() []int {
	ents, _ := os.ReadDir(procRoot)
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// isDaemon reports whether pid is the dockerd of layout l: its command line
// names l's pidfile.
func isDaemon(pid int, l Layout) bool {
	args := cmdline(pid)
	for i, a := range args {
		if (a == "--pidfile" || a == "-p") && i+1 < len(args) && args[i+1] == l.Pidfile() {
			return true
		}
		if a == "--pidfile="+l.Pidfile() {
			return true
		}
	}
	return false
}

// helperNames are the programs of a daemon that may outlive it.
var helperNames = map[string]bool{
	"dockerd": true, "containerd": true, "containerd-shim": true, "containerd-shim-runc-v2": true,
	"docker-proxy": true, "runc": true, RuntimeName + "-runc": true,
}

// daemonProcs lists the processes that belong to the daemon of l: pid (if
// alive), every process in its mount namespace when that is not ours, this
// layout's dockerd (its --pidfile) and daemon helpers whose command line
// points into its exec root (containerd's --config, the shims' -address),
// and all their descendants. It never lists the calling process or its
// ancestors, and never a daemon of another state directory, even one nested
// below l.Dir.
func daemonProcs(l Layout, pid int) []int {
	self := os.Getpid()
	protect := map[int]bool{}
	for p := self; p > 1; {
		protect[p] = true
		_, pp := stat(p)
		if pp == p {
			break
		}
		p = pp
	}
	ns := ""
	if alive(pid) {
		ns = mntNS(pid)
		if ns == mntNS(self) || ns == mntNS(1) {
			ns = "" // not a namespace of its own: do not match by it
		}
	}
	prefix := l.ExecRoot() + "/"
	in := map[int]bool{}
	parent := map[int]int{}
	all := pids()
	for _, p := range all {
		st, pp := stat(p)
		if st == "" {
			continue
		}
		parent[p] = pp
		if protect[p] {
			continue
		}
		switch {
		case p == pid && alive(pid):
			in[p] = true
		case ns != "" && mntNS(p) == ns:
			in[p] = true
		case isDaemon(p, l):
			in[p] = true
		default:
			args := cmdline(p)
			if len(args) > 0 && helperNames[filepath.Base(args[0])] && helperOf(args, prefix) {
				in[p] = true
			}
		}
	}
	// Descendants (container processes under the shims).
	for changed := true; changed; {
		changed = false
		for _, p := range all {
			if !in[p] && !protect[p] && in[parent[p]] {
				in[p] = true
				changed = true
			}
		}
	}
	var out []int
	for _, p := range all {
		if in[p] {
			out = append(out, p)
		}
	}
	return out
}

// waitGone waits until none of ps is alive (as the process listed in b), up
// to d; it returns those still alive.
func waitGone(ps []int, d time.Duration, b births) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, p := range ps {
			if alive(p) && b.same(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signalAll sends sig to each of ps that is still the process listed in b.
func signalAll(ps []int, sig syscall.Signal, b births) {
	for _, p := range ps {
		if b.same(p) {
			syscall.Kill(p, sig)
		}
	}
}

// helperOf reports whether a helper's arguments name a path in the exec root
// prefix (as an argument or an option's value).
func helperOf(args []string, prefix string) bool {
	for _, a := range args[1:] {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, prefix) {
			return true
		}
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}
