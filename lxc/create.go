//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	golxc "github.com/lxc/go-lxc"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Create defines a stopped container: it reads the facts the options
// depend on, plans (PlanCreate), then makes what the plan says. On any
// error nothing is left behind: what Create made (the container directory,
// an unpacked rootfs) is removed, and a user-supplied rootfs directory is
// never written to.
func (m *Manager) Create(ctx context.Context, o CreateOptions) error {
	if err := m.create(ctx, o); err != nil {
		return fmt.Errorf("create %s: %w", o.Name, err)
	}
	return nil
}

func (m *Manager) create(ctx context.Context, o CreateOptions) error {
	if err := requireRoot(); err != nil {
		return err
	}
	f, err := m.createFacts(o)
	if err != nil {
		return err
	}
	p, err := PlanCreate(o, f)
	if err != nil {
		return err
	}
	for _, w := range p.Warnings {
		m.logf("warning: %s", w)
	}
	return m.apply(ctx, p)
}

// createFacts reads what PlanCreate needs to know about this host and the
// paths o names. Paths that cannot be stat'ed are facts too (PlanCreate
// reports them); only a host that cannot be read at all is an error.
func (m *Manager) createFacts(o CreateOptions) (CreateFacts, error) {
	f := CreateFacts{
		LXCPath:       m.lxcpath(),
		CompatMachine: uname.HostCompatMachine(),
		Compat:        uname.ProbeCompat(),
		Bridges:       map[string]bool{},
		Binds:         map[string]PathInfo{},
	}
	if o.CPUs != "" {
		set, err := cpuinfo.Affinity()
		if err != nil {
			return f, err
		}
		f.CPUs = set
	}
	host, err := DetectHost()
	if err != nil {
		return f, err
	}
	f.Host = host
	if n, err := ParseNetwork(o.Network); err == nil && n.Bridge != "" {
		fi, err := os.Stat(filepath.Join("/sys/class/net", n.Bridge, "bridge"))
		f.Bridges[n.Bridge] = err == nil && fi.IsDir()
	}
	for _, s := range o.Binds {
		if b, err := ParseBind(s); err == nil {
			f.Binds[b.Source] = statPath(b.Source)
		}
	}
	if o.Docker && o.Shim != NoShim {
		if o.Shim != "" {
			f.Shim, f.ShimErr = checkShim(o.Shim)
		} else {
			f.Shim = findShim()
		}
	}
	if o.Rootfs != "" {
		abs, err := filepath.Abs(o.Rootfs)
		if err != nil {
			return f, err
		}
		r := RootfsFacts{Path: abs, Stat: statPath(abs)}
		if r.Stat.Err == nil && r.Stat.Mode.IsDir() {
			r.Check = CheckRootfs(abs)
			r.HasInit = len(o.Init) > 0 && HasPath(abs, o.Init[0])
		}
		f.Rootfs = r
	}
	return f, nil
}

// findShim looks for the runtime wrapper to give dockerd inside: the lean
// armhf-runc, else armhf-shim, beside armhf-lxc's own binary (as make
// build and packages install them), else on PATH; "" when there is none.
func findShim() string {
	names := []string{"armhf-runc", "armhf-shim"}
	if self, err := os.Executable(); err == nil {
		for _, n := range names {
			if p, err := checkShim(filepath.Join(filepath.Dir(self), n)); err == nil {
				return p
			}
		}
	}
	for _, n := range names {
		if lp, err := exec.LookPath(n); err == nil {
			if p, err := checkShim(lp); err == nil {
				return p
			}
		}
	}
	return ""
}

// checkShim is the executable file p, absolute and with its links
// resolved: the container binds the file itself.
func checkShim(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", abs)
	}
	return abs, nil
}

func statPath(p string) PathInfo {
	fi, err := os.Stat(p)
	if err != nil {
		return PathInfo{Err: err}
	}
	return PathInfo{Mode: fi.Mode().Type()}
}

// apply makes what p plans, and removes it all again if any step fails.
func (m *Manager) apply(ctx context.Context, p *CreatePlan) (err error) {
	name, dir := p.State.Name, p.Dir
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("lxcpath: %w", err)
	}
	// Mkdir is the atomic claim on the name: a second create fails here.
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return m.exists(name)
		}
		return err
	}
	// Held until create is done (the rollback included): until the LXC
	// config is written, the directory looks like a failed create's, and
	// destroy (or a second create's advice) must not take it for one.
	lk, err := lockNew(dir, name)
	if err != nil {
		return err
	}
	defer lk.unlock()
	ownRootfs := ""
	defer func() {
		if err == nil {
			return
		}
		if rerr := m.removeDir(dir, ownRootfs); rerr != nil {
			err = fmt.Errorf("%w (and rolling back failed: %v; once that is fixed, remove what is left with %s)", err, rerr, m.command("destroy", name))
		}
	}()

	st := p.State
	// The state first, the LXC config last: should the rollback fail too
	// (a mount below dir), what is left is marked as armhf-lxc's, with
	// whether it owns the rootfs, and destroy can finish the job.
	if err := WriteState(dir, &st); err != nil {
		return err
	}
	if st.OwnsRootfs {
		ownRootfs = st.Rootfs
		if err := m.makeRootfs(ctx, p); err != nil {
			return err
		}
	}
	if msg := CheckUserland(st.Rootfs, st.Arch); msg != "" {
		m.logf("warning: %s", msg)
	}
	if st.Init != nil && !HasPath(st.Rootfs, st.Init[0]) {
		return fmt.Errorf("--init %q: no such program in the root filesystem", strings.Join(st.Init, " "))
	}
	spec := p.Spec
	spec.RunDir = HasPath(st.Rootfs, "/run")
	items, err := Config(spec, p.Host)
	if err != nil {
		return err
	}
	if err := writeRuntimeFiles(dir, &st); err != nil {
		return err
	}
	return saveConfig(name, filepath.Dir(dir), items)
}

// exists explains why the directory of name is already there.
func (m *Manager) exists(name string) error {
	dir := m.Dir(name)
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		if b := m.createInProgress(name); b != nil {
			return b
		}
		return fmt.Errorf("%s already exists but defines no container (left by a failed create or destroy?): %s", dir, m.leftoverAdvice(name))
	}
	return fmt.Errorf("container %q already exists in %s (destroy it first: %s; or pick another name)", name, m.lxcpath(), m.command("destroy", name))
}

// makeRootfs fills the rootfs directory armhf-lxc owns from the plan's
// tarball or debootstrap suite.
func (m *Manager) makeRootfs(ctx context.Context, p *CreatePlan) error {
	dst := p.State.Rootfs
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if p.Tarball != "" {
		m.logf("unpacking %s into %s", p.Tarball, dst)
		if err := Unpack(ctx, p.Tarball, dst); err != nil {
			return err
		}
	} else {
		arch := DebootstrapArch(p.State.Arch)
		m.logf("debootstrap --arch=%s %s into %s", arch, p.Debootstrap, dst)
		w := m.Log
		if w == nil {
			w = io.Discard
		}
		if err := Debootstrap(ctx, arch, p.Debootstrap, dst, p.Mirror, p.Include, w); err != nil {
			return err
		}
	}
	return CheckRootfs(dst)
}

// saveConfig defines the container: every item through liblxc's own
// parser (SetConfigItem rejects unknown keys and bad values), then
// SaveConfigFile. go-lxc's Create would insist on a template.
func saveConfig(name, lxcpath string, items []Item) error {
	c, err := golxc.NewContainer(name, lxcpath)
	if err != nil {
		return fmt.Errorf("liblxc: %w", err)
	}
	defer c.Release()
	for _, it := range items {
		if err := c.SetConfigItem(it.Key, it.Value); err != nil {
			return fmt.Errorf("liblxc rejected %q: %w", it.String(), err)
		}
	}
	if err := c.SaveConfigFile(filepath.Join(lxcpath, name, ConfigFile)); err != nil {
		return fmt.Errorf("saving the LXC config: %w", err)
	}
	return nil
}
