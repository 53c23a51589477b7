//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	golxc "github.com/lxc/go-lxc"

	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
)

// Destroy removes a stopped container armhf-lxc created (with force, a
// running one is stopped first): its LXC config and armhf-lxc's files, the
// root filesystem only if armhf-lxc unpacked it. A rootfs directory the
// user supplied is never deleted, and neither are files armhf-lxc did not
// create in the container directory (which then stays).
//
// It also removes what a failed create or destroy left (a rollback stopped
// by a mount below the directory): a directory without an LXC config but
// with armhf-lxc.json (which create writes first and removeDir deletes
// last) is cleaned up as that file says; one without either is removed
// only if it holds nothing but armhf-lxc's cpuinfo, init and log files.
func (m *Manager) Destroy(name string, force bool) error {
	// A create still unpacking looks like a failed one: the lock tells
	// them apart (destroy refuses at once while a create holds it).
	lk, err := m.lockFor(context.Background(), name, "destroy")
	if err != nil {
		return err
	}
	defer lk.unlock()
	dir := m.Dir(name)
	c, err := golxc.NewContainer(name, m.lxcpath())
	if err != nil {
		return fmt.Errorf("container %q: liblxc: %w", name, err)
	}
	defer c.Release()
	st, serr := ReadState(dir)
	if !c.Defined() {
		return m.destroyLeftover(c, st, serr)
	}
	if serr != nil {
		return fmt.Errorf("container %q: %w", name, serr)
	}
	if c.Running() {
		if !force {
			return fmt.Errorf("destroy %s: container %q is running (stop it first, or destroy --force)", name, name)
		}
		if err := stopContainer(c, 10*time.Second); err != nil {
			return fmt.Errorf("destroy %s: %w", name, err)
		}
	}
	RemoveStaleCgroups(name)
	return m.removeOwn(name, st)
}

// removeOwn removes the directory of name as its state says.
func (m *Manager) removeOwn(name string, st *State) error {
	dir := m.Dir(name)
	own := ""
	if st.OwnsRootfs {
		own = filepath.Join(dir, RootfsDir)
		if filepath.Clean(st.Rootfs) != own {
			return fmt.Errorf("destroy %s: %s says armhf-lxc owns rootfs %s, which is not %s; refusing to delete it", name, StateFile, st.Rootfs, own)
		}
	}
	if err := m.removeDir(dir, own); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

// destroyLeftover is Destroy of a directory without an LXC config.
func (m *Manager) destroyLeftover(c *golxc.Container, st *State, stateErr error) error {
	name, dir := c.Name(), m.Dir(c.Name())
	if c.Running() {
		return fmt.Errorf("destroy %s: %s has no LXC config, yet liblxc runs a container %q: stop it with lxc-stop -k -n %s -P %s, then run %s again", name, dir, name, name, m.lxcpath(), m.command("destroy", name))
	}
	RemoveStaleCgroups(name)
	switch {
	case st != nil:
		m.logf("%s has no LXC config (left by a failed create or destroy): removing what %s lists", dir, StateFile)
		return m.removeOwn(name, st)
	case !errors.Is(stateErr, ErrNotManaged):
		return fmt.Errorf("destroy %s: %s has no LXC config and %v: check it and remove it by hand (rm -r %s)", name, dir, stateErr, dir)
	}
	if ok, other := onlyOwnFiles(dir); !ok {
		return fmt.Errorf("destroy %s: %s has neither an LXC config nor %s, so it is not armhf-lxc's (it holds %s): check it and remove it by hand (rm -r %s)", name, dir, StateFile, strings.Join(other, ", "), dir)
	}
	m.logf("%s has no LXC config and no %s, only armhf-lxc's files: removing them", dir, StateFile)
	if err := m.removeDir(dir, ""); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

// removeDir deletes what armhf-lxc puts in a container directory: ownRootfs
// (if not ""; it must be dir/rootfs), the LXC config, armhf-lxc's files and
// at last the directory itself if that leaves it empty. Nothing mounted
// below dir is touched: that is an error.
func (m *Manager) removeDir(dir, ownRootfs string) error {
	// mountinfo has canonical paths: compare with dir's, whatever links
	// (a symlinked lxcpath) or relative path lead to it.
	real, err := filepath.Abs(dir)
	if err == nil {
		real, err = filepath.EvalSymlinks(real)
	}
	if err != nil {
		return fmt.Errorf("resolving %s to check for mounts below it: %w; nothing was removed", dir, err)
	}
	if mnts := mountinfo.Below(real); len(mnts) > 0 {
		return fmt.Errorf("%s has mounts below it (%s); unmount them first (umount -R), nothing was removed", dir, strings.Join(mnts, ", "))
	}
	if ownRootfs != "" {
		if ownRootfs != filepath.Join(dir, RootfsDir) {
			return fmt.Errorf("internal error: rootfs %s is not in %s", ownRootfs, dir)
		}
		if err := os.RemoveAll(ownRootfs); err != nil {
			return fmt.Errorf("removing %s: %w", ownRootfs, err)
		}
	}
	for _, f := range ownFiles {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(dir); err != nil {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return fmt.Errorf("removed armhf-lxc's files but left %s: it holds files armhf-lxc did not create (%s)", dir, strings.Join(names, ", "))
	}
	return nil
}

// ownFiles are the files armhf-lxc creates in a container directory (its
// rootfs aside), in the order removeDir removes them: the config first (LXC
// no longer sees a container), the state last but one (until then
// armhf-lxc can retry), the lock file last (held by the caller: a command
// waiting for it finds it gone, see lock).
var ownFiles = []string{ConfigFile, CPUInfoFile, SeccompFile, InitFile, LogFile, DockerdLog, StateFile, LockFile}

// onlyOwnFiles reports whether dir holds nothing but ownFiles (a rootfs is
// not one of them), and lists the others.
func onlyOwnFiles(dir string) (bool, []string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, nil
	}
	var other []string
	for _, e := range ents {
		if !slices.Contains(ownFiles, e.Name()) {
			other = append(other, e.Name())
		}
	}
	return len(other) == 0, other
}
