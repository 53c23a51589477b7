// Package dockerbin finds the real docker CLI behind the armhf-shim docker
// wrapper, without ever finding the wrapper itself.
//
// The model: the wrapper is installed as "docker" in front of the real CLI on
// PATH (/usr/local/bin/docker -> armhf-shim, real one in /usr/bin). Looking
// "docker" up on PATH must skip
//
//   - the running binary, by real path and by device/inode (symlinks and hard
//     links to it),
//   - every other copy of the wrapper already passed through in this exec
//     chain (two copies of the wrapper on PATH would otherwise exec each other
//     forever),
//   - duplicates (/bin -> /usr/bin makes /bin/docker and /usr/bin/docker one
//     file).
//
// The exec chain is recorded in the environment variable [ChainEnv] as the
// wrapper's process ID followed by the real paths of the wrappers that
// exec'd, one per line. syscall.Exec keeps the process ID, so a wrapper that
// finds its own PID there knows it was exec'd by another wrapper as "the real
// docker"; a process started later by docker (a plugin, a credential helper)
// has another PID and ignores the inherited value.
package dockerbin

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// ChainEnv is the environment variable that records the wrapper exec chain.
const ChainEnv = "ARMHF_SHIM_DOCKER_CHAIN"

// MaxChain bounds the number of wrappers in one exec chain.
const MaxChain = 8

// Name is the program looked up on PATH.
const Name = "docker"

// Chain is the list of real paths of wrappers that exec'd in this process.
type Chain []string

// ParseChain returns the chain recorded in value when it belongs to process
// pid, else nil.
func ParseChain(value string, pid int) Chain {
	lines := strings.Split(value, "\n")
	if len(lines) < 2 || lines[0] != strconv.Itoa(pid) {
		return nil
	}
	var c Chain
	for _, l := range lines[1:] {
		if l != "" {
			c = append(c, l)
		}
	}
	return c
}

// Format renders the chain for pid as the value of ChainEnv.
func (c Chain) Format(pid int) string {
	return strconv.Itoa(pid) + "\n" + strings.Join(c, "\n")
}

// Finder looks up the real docker.
type Finder struct {
	// Explicit is a configured path (flag, environment or config file).
	// When set, PATH is not searched; a name without a slash is looked up
	// on PATH with the same skipping rules.
	Explicit string
	// PATH is the search path (the PATH environment variable).
	PATH string
	// Self is the running wrapper's path (os.Executable()).
	Self string
	// Chain lists wrappers already exec'd in this process (Self is added
	// implicitly).
	Chain Chain
}

// skipper decides whether a candidate is a wrapper (self or chain) or a
// duplicate of one seen before.
type skipper struct {
	paths map[string]bool
	ids   map[fsutil.FileID]bool
}

// The identity (device and inode, through symlinks) decides; the path as
// given also counts, for a wrapper whose file cannot be stat'ed any more.
// No symlink is resolved on the way: the wrapper runs before every docker
// command, and an lstat per path component adds up.
func newSkipper(self string, chain Chain) *skipper {
	s := &skipper{paths: map[string]bool{}, ids: map[fsutil.FileID]bool{}}
	for _, p := range append([]string{self}, chain...) {
		if p == "" {
			continue
		}
		s.paths[p] = true
		if id, _, err := fsutil.Identify(p); err == nil {
			s.ids[id] = true
		}
	}
	return s
}

// wrapper reports whether path p with identity id is the wrapper.
func (s *skipper) wrapper(rp string, id fsutil.FileID) bool {
	return s.paths[rp] || s.ids[id]
}

// Candidate is one "docker" found on PATH.
type Candidate struct {
	Path     string // as found (dir/docker)
	RealPath string // symlinks resolved
	Skip     string // why it is not used ("" when usable)
}

// Candidates lists every "docker" on PATH in order, with the reason each
// skipped one is skipped. It is what Find decides from, exposed for error
// messages and tests.
func (f Finder) Candidates(name string) []Candidate {
	return f.candidates(name, false)
}

// candidates lists the candidates in PATH order; with first, it stops at
// the first usable one (the fast path: a few stat calls).
func (f Finder) candidates(name string, first bool) []Candidate {
	sk := newSkipper(f.Self, f.Chain)
	seen := map[fsutil.FileID]bool{}
	var out []Candidate
	for _, dir := range filepath.SplitList(f.PATH) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		id, executable, err := fsutil.Identify(p)
		if err != nil {
			continue
		}
		c := Candidate{Path: p, RealPath: p}
		if !first {
			// For messages only: the identity decides.
			if rp, err := filepath.EvalSymlinks(p); err == nil {
				c.RealPath = rp
			}
		}
		switch {
		case !executable:
			c.Skip = "not an executable file"
		case sk.wrapper(c.RealPath, id):
			c.Skip = "armhf-shim wrapper"
		case seen[id]:
			c.Skip = "duplicate"
		}
		seen[id] = true
		out = append(out, c)
		if first && c.Skip == "" {
			break
		}
	}
	return out
}

// ErrNotFound is returned (wrapped) when no real docker exists.
var ErrNotFound = errors.New("real docker CLI not found")

// Find returns the path of the real docker to exec.
func (f Finder) Find() (string, error) {
	if len(f.Chain) >= MaxChain {
		return "", fmt.Errorf("armhf-shim docker: %d wrappers exec'd each other (%s); set ARMHF_SHIM_DOCKER to the real docker binary",
			len(f.Chain), strings.Join(f.Chain, " -> "))
	}
	if f.Explicit != "" && strings.Contains(f.Explicit, "/") {
		p := f.Explicit
		id, executable, err := fsutil.Identify(p)
		if err != nil {
			return "", fmt.Errorf("configured docker %s: %w", p, err)
		}
		if !executable {
			return "", fmt.Errorf("configured docker %s is not an executable file", p)
		}
		rp := p
		if r, err := filepath.EvalSymlinks(p); err == nil {
			rp = r
		}
		if newSkipper(f.Self, f.Chain).wrapper(rp, id) {
			return "", fmt.Errorf("configured docker %s is armhf-shim itself (%s); point ARMHF_SHIM_DOCKER (or \"docker\" in the config file) at the real docker CLI, e.g. /usr/bin/docker", p, rp)
		}
		return p, nil
	}
	name := Name
	if f.Explicit != "" {
		name = f.Explicit
	}
	cands := f.candidates(name, true)
	for _, c := range cands {
		if c.Skip == "" {
			return c.Path, nil
		}
	}
	var skipped []string
	for _, c := range cands {
		skipped = append(skipped, c.Path+" ("+c.Skip+")")
	}
	msg := "no " + name + " on PATH"
	if len(skipped) > 0 {
		msg = "only " + strings.Join(skipped, ", ") + " on PATH"
	}
	return "", fmt.Errorf("%w: %s; install the docker CLI or set ARMHF_SHIM_DOCKER to its path", ErrNotFound, msg)
}
