// Package setup is armhf-shim setup: one command for a build host. It
// detects the container engines present, runs the matching install targets
// (through shim/install, with every guarantee install gives), makes the
// running engines pick the changes up the least disruptive way, records
// what it changed, and asks doctor whether each route it set up works.
// setup --undo uninstalls exactly what was recorded.
//
// The model: Gather (gather.go) reads the host into Facts; Detect
// (detect.go) is a pure function from Facts to Steps, each an install
// target with the file it edits and how its engine picks it up (nothing,
// SIGHUP, a restart); Run and Undo are the edges.
package setup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// DefaultState is where setup records what it changed.
const DefaultState = "/var/lib/armhf-shim/setup.json"

// Options of a setup run.
type Options struct {
	DryRun  bool
	Restart bool // restart the engines that need it (else say how)
	State   string
	// Binary is the armhf-shim binary to register ("" = this one).
	Binary string
	// Doctor is where doctor looks; setup fills in the files it edited.
	Doctor doctor.Options
	Out    io.Writer
	// Systemctl runs systemctl ("" = from PATH); Signal signals a pid.
	Systemctl string
}

// State is setup's record: the steps it changed, in order.
type State struct {
	Binary string `json:"binary"`
	// CreatedDir: setup made the record's directory, which goes with the
	// record (nothing of setup's is left once everything is undone).
	CreatedDir bool   `json:"createdDir,omitempty"`
	Steps      []Step `json:"steps"`
}

func (o *Options) defaults() {
	if o.State == "" {
		o.State = DefaultState
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Systemctl == "" {
		o.Systemctl = "systemctl"
	}
	if o.Binary == "" {
		if exe, err := os.Executable(); err == nil {
			o.Binary = exe
		}
	}
}

func readState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w (fix or remove it; it records what setup changed)", path, err)
	}
	return s, nil
}

func writeState(path string, s State) error {
	if len(s.Steps) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if s.CreatedDir {
			os.Remove(filepath.Dir(path)) // fails, harmlessly, when not empty
		}
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(b, '\n'), 0o644)
}

// lock takes an exclusive lock on the state's directory: two setups take
// turns, each seeing the other's record. It makes the directory when it is
// missing (created says so) and takes the lock again when the directory
// was removed, or replaced, while it waited (the last undo removes it).
// Unlocking removes a directory it made that is still empty.
func lock(state string) (unlock func(), created bool, err error) {
	dir := filepath.Dir(state)
	for try := 0; try < 100; try++ {
		made := false
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			made = true
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, false, err
		}
		f, err := os.Open(dir)
		if err != nil {
			continue // removed meanwhile: again
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("locking %s: %w", dir, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(dir)
		if err1 != nil || err2 != nil || !os.SameFile(held, now) {
			f.Close()
			continue
		}
		return func() {
			if made {
				os.Remove(dir) // fails, harmlessly, when a record is in it
			}
			f.Close()
		}, made, nil
	}
	return nil, false, fmt.Errorf("locking %s: the directory keeps changing", dir)
}

// configArg is the --config argument naming file ("" for the default).
func configArg(file string) string {
	if file == "" {
		return ""
	}
	return " --config " + file
}

// installRun is install.RunChanged; a test runs a concurrent install
// just before it.
var installRun = install.RunChanged

func (o Options) installOptions(s Step, uninstall bool) install.Options {
	return install.Options{
		Target:     s.Target,
		Config:     s.Config,
		Containerd: s.Containerd,
		Binary:     o.Binary,
		DryRun:     o.DryRun,
		Uninstall:  uninstall,
		Out:        o.Out,
	}
}

// Run sets up the host with facts f. It returns 1 when a route it set up
// does not work (or the host cannot run armhf natively), 0 when all do.
func Run(o Options, f Facts) (int, error) {
	o.defaults()
	det := Detect(f)
	for _, n := range det.Notes {
		fmt.Fprintln(o.Out, "setup: note: "+n)
	}
	if len(det.Steps) == 0 {
		fmt.Fprintln(o.Out, "setup: no container engine found (dockerd, containerd, CRI-O, buildkitd, podman): nothing to set up; armhf-shim exec works without one")
		return 0, nil
	}
	var unlock func()
	created := false
	if !o.DryRun {
		var err error
		if unlock, created, err = lock(o.State); err != nil {
			return 2, err
		}
		defer unlock()
	}
	st, err := readState(o.State)
	if err != nil {
		return 2, err
	}
	st.CreatedDir = st.CreatedDir || created
	recorded := map[string]bool{}
	for _, s := range st.Steps {
		recorded[s.Key()] = true
	}
	if st.Binary == "" {
		st.Binary = o.Binary
	}
	var changed, unchanged []Step
	failed := 0
	for _, s := range det.Steps {
		fmt.Fprintf(o.Out, "setup: %s — %s\n", s.Target, s.Why)
		// install refuses what it cannot do safely and leaves the file as
		// it was: say so and go on with the other engines.
		p, err := install.BuildPlan(o.installOptions(s, false))
		if err == nil && !p.Changes() {
			fmt.Fprintf(o.Out, "setup: %s: already set up\n", s.Target)
			unchanged = append(unchanged, s)
			continue
		}
		// Recorded before install changes anything, so that a setup killed
		// once install is done leaves what --undo needs (uninstalling a
		// step install never applied changes nothing). Recorded from
		// install's own look under its lock: a concurrent install between
		// the look above and install's lock is not taken for setup's.
		// A target partly installed before setup (an uninstall would
		// already change something) is not claimed: --undo would remove
		// the user's part with setup's.
		ahead, partial := false, false
		var recErr error
		if err == nil {
			io := o.installOptions(s, false)
			if !o.DryRun && !recorded[s.Key()] {
				io.BeforeChange = func(part bool) error {
					if partial = part; part {
						return nil
					}
					st.Steps = append(st.Steps, s)
					if recErr = writeState(o.State, st); recErr != nil {
						st.Steps = st.Steps[:len(st.Steps)-1]
						recErr = fmt.Errorf("recording what setup changes in %s: %w; nothing was changed for %s", o.State, recErr, s.Target)
						return recErr
					}
					ahead = true
					return nil
				}
			}
			var did bool
			did, err = installRun(io)
			if recErr != nil {
				return 2, recErr
			}
			if err == nil && !did {
				fmt.Fprintf(o.Out, "setup: %s: already set up\n", s.Target)
				unchanged = append(unchanged, s)
				continue
			}
		}
		if err != nil {
			fmt.Fprintf(o.Out, "setup: install %s failed, left unchanged: %v\n", s.Target, err)
			failed++
			if ahead {
				st.Steps = st.Steps[:len(st.Steps)-1]
				if err := writeState(o.State, st); err != nil {
					return 2, fmt.Errorf("taking %s out of %s: %w; it changed nothing, so setup --undo will find nothing to undo for it", s.Target, o.State, err)
				}
			}
			continue
		}
		if partial {
			fmt.Fprintf(o.Out, "setup: %s: part of it was installed before setup ran; setup completed it but does not record it, so setup --undo leaves it: remove it with armhf-shim uninstall %s%s\n",
				s.Target, s.Target, configArg(s.Config))
		}
		changed = append(changed, s)
		recorded[s.Key()] = ahead || recorded[s.Key()]
	}
	// A step already set up whose engine has not picked it up (an earlier
	// setup left its restart to the user) is applied as if it had just
	// changed: `setup --restart` after `setup` restarts what the first
	// said needed it.
	changed = append(changed, o.notPickedUp(unchanged)...)
	pending, reloaded := o.applyAll(changed)
	if o.DryRun {
		return min(failed, 1), nil
	}
	code := o.verify(det.Steps, pending, reloaded)
	if failed > 0 {
		fmt.Fprintf(o.Out, "setup: %d install step(s) failed (above), each with its fix\n", failed)
		code = 1
	}
	return code, nil
}

// applyAll makes the engines pick up the steps that changed: one action
// per engine (a restart covers a reload), reloads always (nothing stops),
// restarts with --restart. It returns the engines still to be restarted,
// and whether any was reloaded or restarted (it applies the change
// asynchronously: doctor may have to ask again).
func (o Options) applyAll(steps []Step) (pending []string, acted bool) {
	type key struct {
		unit string
		pid  int
	}
	type want struct {
		Apply
		reload bool // a step asks for a reload: done even when the restart is left to the user
	}
	wants := map[key]*want{}
	var order []key
	daemonReload := false
	for _, s := range steps {
		a := s.Apply
		daemonReload = daemonReload || a.DaemonReload
		if a.Kind == ApplyNone {
			continue
		}
		k := key{a.Unit, a.Pid}
		w, ok := wants[k]
		if !ok {
			w = &want{Apply: a}
			wants[k] = w
			order = append(order, k)
		}
		w.Kind = max(w.Kind, a.Kind)
		w.reload = w.reload || a.Kind == ApplyReload
	}
	if daemonReload {
		o.act("systemctl daemon-reload (a docker.service drop-in changed)", o.Systemctl, "daemon-reload")
	}
	for _, k := range order {
		a := wants[k]
		what := fmt.Sprintf("%s (pid %d)", a.Engine, a.Pid)
		if a.Kind == ApplyRestart && o.Restart && a.Unit != "" {
			acted = true
			if !o.act(fmt.Sprintf("systemctl restart %s", a.Unit), o.Systemctl, "restart", a.Unit) {
				pending = append(pending, a.Unit)
			}
			continue
		}
		if a.reload {
			// Without the restart, the reload still applies what it can
			// (dockerd's runtimes) and stops nothing.
			ok := true
			switch {
			case a.Unit != "":
				ok = o.act(fmt.Sprintf("systemctl reload %s (%s re-reads runtimes on SIGHUP; nothing stops)", a.Unit, a.Engine), o.Systemctl, "reload", a.Unit)
			case o.DryRun:
				fmt.Fprintf(o.Out, "setup: would send SIGHUP to %s (it re-reads runtimes; nothing stops)\n", what)
			default:
				if err := syscall.Kill(a.Pid, syscall.SIGHUP); err != nil {
					fmt.Fprintf(o.Out, "setup: SIGHUP to %s failed: %v; reload it yourself (kill -HUP %d)\n", what, err, a.Pid)
					ok = false
				} else {
					fmt.Fprintf(o.Out, "setup: sent SIGHUP to %s: it re-reads runtimes, nothing stops\n", what)
				}
			}
			acted = acted || ok && !o.DryRun
			if !ok {
				pending = append(pending, what)
			}
		}
		switch {
		case a.Kind != ApplyRestart:
		case a.Unit != "":
			fmt.Fprintf(o.Out, "setup: %s needs a restart to pick this up: systemctl restart %s (or run setup --restart)\n", a.Engine, a.Unit)
			pending = append(pending, a.Unit)
		default:
			// --restart restarts systemd services only: it cannot know how
			// a daemon started by hand (or by another init) was started.
			cannot := ""
			if o.Restart {
				cannot = ", which --restart cannot restart"
			}
			fmt.Fprintf(o.Out, "setup: %s needs a restart to pick this up and is not a systemd service%s: stop it and start it with the same arguments\n", what, cannot)
			pending = append(pending, what)
		}
	}
	return pending, acted
}

// act runs a command (or says it would, with --dry-run).
func (o Options) act(what, name string, args ...string) bool {
	if o.DryRun {
		fmt.Fprintln(o.Out, "setup: would run "+what)
		return true
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(o.Out, "setup: %s failed: %v: %s\n", what, err, strings.TrimSpace(string(out)))
		return false
	}
	fmt.Fprintln(o.Out, "setup: ran "+what)
	return true
}

// routeOf is the doctor route that judges a target ("" = doctor has none).
var routeOf = map[string]string{"docker": "docker", "buildkit": "buildkit", "containerd": "containerd", "podman": "podman", "podman-runtime": "podman-runtime", "buildkitd": "buildkitd"}

// doctorOptions are o's doctor options with the files steps edit.
func (o Options) doctorOptions(steps []Step) doctor.Options {
	d := o.Doctor
	for _, s := range steps {
		switch {
		case s.Target == "docker" && d.DaemonJSON == "":
			d.DaemonJSON = s.Config
		case s.Target == "containerd" && d.ContainerdConfig == "":
			d.ContainerdConfig = s.Config
		case s.Target == "buildkitd" && d.BuildkitdConfig == "":
			d.BuildkitdConfig = s.Config
		}
	}
	return d
}

// notPickedUp are the steps of steps, each already set up, whose running
// engine has not picked the change up: doctor finds the route installed
// but not active (a runtime not loaded, a config read before it was
// written).
func (o Options) notPickedUp(steps []Step) []Step {
	var cands []Step
	for _, s := range steps {
		if s.Apply.Kind != ApplyNone && routeOf[s.Target] != "" {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	r, err := doctor.Diagnose(o.doctorOptions(cands))
	if err != nil {
		return nil
	}
	stale := map[string]bool{}
	for _, rt := range r.Routes {
		stale[rt.Name] = rt.Installed && !rt.Active
	}
	var out []Step
	for _, s := range cands {
		if stale[routeOf[s.Target]] {
			fmt.Fprintf(o.Out, "setup: %s is set up, but %s (pid %d) has not picked it up\n", s.Target, s.Apply.Engine, s.Apply.Pid)
			out = append(out, s)
		}
	}
	return out
}

// verify asks doctor about the routes of steps: 1 if one does not work.
// After a reload or restart it asks again for a while: a daemon applies a
// SIGHUP, and systemd a restart, after the call returns.
func (o Options) verify(steps []Step, pending []string, acted bool) int {
	d := o.doctorOptions(steps)
	want := map[string]bool{}
	for _, s := range steps {
		if n := routeOf[s.Target]; n != "" {
			want[n] = true
		}
	}
	working := func(rt doctor.Route) bool { return rt.Installed && len(rt.Problems) == 0 }
	var r *doctor.Report
	for try := 0; ; try++ {
		var err error
		if r, err = doctor.Diagnose(d); err != nil {
			fmt.Fprintf(o.Out, "setup: doctor: %v\n", err)
			return 1
		}
		all := true
		for _, rt := range r.Routes {
			all = all && (!want[rt.Name] || working(rt))
		}
		if all || !acted || len(pending) > 0 || try == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	code := 0
	if r.ExitCode != 0 {
		fmt.Fprintln(o.Out, "setup: doctor: "+r.Verdict)
		code = 1
	}
	for _, rt := range r.Routes {
		if !want[rt.Name] {
			continue
		}
		state := "works"
		if !working(rt) {
			state = "NOT working"
			code = 1
		}
		fmt.Fprintf(o.Out, "setup: route %s %s: %s\n", rt.Name, state, rt.Detail)
		for _, p := range rt.Problems {
			fmt.Fprintln(o.Out, "setup:   problem: "+p)
		}
	}
	if len(pending) > 0 {
		fmt.Fprintf(o.Out, "setup: still to restart: %s\n", strings.Join(pending, ", "))
	}
	return code
}

// Undo uninstalls what setup recorded, newest first, and applies it the
// same way (a removed docker runtime needs a restart: dockerd keeps a
// removed key over SIGHUP). It returns 1 when something is left to do.
func Undo(o Options, f Facts) (int, error) {
	o.defaults()
	if !o.DryRun {
		unlock, _, err := lock(o.State)
		if err != nil {
			return 2, err
		}
		defer unlock()
	}
	st, err := readState(o.State)
	if err != nil {
		return 2, err
	}
	if len(st.Steps) == 0 {
		fmt.Fprintf(o.Out, "setup --undo: nothing recorded in %s: nothing to undo\n", o.State)
		return 0, nil
	}
	if st.Binary != "" {
		o.Binary = st.Binary
	}
	// How each engine picks up the removal: as now detected.
	now := map[string]Apply{}
	for _, s := range Detect(f).Steps {
		now[s.Key()] = s.Apply
	}
	var done []Step
	for i := len(st.Steps) - 1; i >= 0; i-- {
		s := st.Steps[i]
		if err := install.Run(o.installOptions(s, true)); err != nil {
			return 2, fmt.Errorf("uninstall %s: %w (what is undone so far is out of the record; run setup --undo again once fixed)", s.Target, err)
		}
		s.Apply = now[s.Key()]
		if s.Target == "docker" && s.Apply.Kind == ApplyReload {
			s.Apply.Kind = ApplyRestart
		}
		done = append(done, s)
		if !o.DryRun {
			st.Steps = st.Steps[:i]
			if err := writeState(o.State, st); err != nil {
				return 2, err
			}
		}
	}
	if pending, _ := o.applyAll(done); len(pending) > 0 {
		fmt.Fprintf(o.Out, "setup --undo: still to restart: %s\n", strings.Join(pending, ", "))
		return 1, nil
	}
	return 0, nil
}
