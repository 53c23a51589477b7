package lxc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// StateVersion is the version of the armhf-lxc.json format written.
const StateVersion = 1

// State is armhf-lxc's record of a container it created, kept next to the
// LXC config as armhf-lxc.json. LXC's config says how to run the
// container; State says what armhf-lxc owns and what it does on start.
type State struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Rootfs is the absolute path of the root filesystem.
	Rootfs string `json:"rootfs"`
	// OwnsRootfs is true when armhf-lxc made Rootfs (<dir>/rootfs, from a
	// tarball or debootstrap), so destroy deletes it. A directory the user
	// supplied is never deleted.
	OwnsRootfs bool `json:"owns_rootfs"`
	// Source is what the root filesystem came from: the directory or
	// tarball given to --rootfs, or "debootstrap:SUITE".
	Source  string   `json:"source"`
	Arch    string   `json:"arch"` // lxc.arch
	Nesting bool     `json:"nesting,omitempty"`
	CPUs    string   `json:"cpus,omitempty"` // "" = all of the caller's CPUs
	Network string   `json:"network"`
	Binds   []string `json:"binds,omitempty"`
	Init    []string `json:"init,omitempty"`
	// Docker starts the rootfs's dockerd on start (requires Nesting).
	Docker       bool     `json:"docker,omitempty"`
	DockerArgs   []string `json:"docker_args,omitempty"`
	DockerSocket string   `json:"docker_socket,omitempty"` // path in the container
	// Shim is the host path of the runtime wrapper bound in at ShimTarget
	// and first on dockerd's PATH ("" = none).
	Shim string `json:"shim,omitempty"`
	// Machine is what uname -m says to 32-bit programs, answered by the
	// seccomp agent on SeccompAgent (liblxc's notify proxy); "" = the
	// kernel's.
	Machine      string `json:"machine,omitempty"`
	SeccompAgent string `json:"seccomp_agent,omitempty"`
	Created      string `json:"created"`
}

// ErrNotManaged is returned for an LXC container armhf-lxc did not create.
var ErrNotManaged = errors.New("not created by armhf-lxc")

// ReadState reads dir/armhf-lxc.json.
func ReadState(dir string) (*State, error) {
	p := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: %w (manage it with the lxc-* tools)", dir, StateFile, ErrNotManaged)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %v", p, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("%s has format version %d; this armhf-lxc reads version %d", p, s.Version, StateVersion)
	}
	return &s, nil
}

// WriteState writes dir/armhf-lxc.json atomically.
func WriteState(dir string, s *State) error {
	s.Version = StateVersion
	if s.Created == "" {
		s.Created = time.Now().UTC().Format(time.RFC3339)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'), 0o644)
}
