// Package shim is armhf-shim's OCI runtime wrapper and OCI hook: the route
// that makes every container a daemon starts — docker run, compose,
// docker build, docker exec, podman — see an armv7 machine when it is an
// armhf (on x86_64: i386) container.
//
// The model of the runtime wrapper ([RuntimeMain]): it is called exactly
// like runc and ends by exec'ing the real runtime with the same argv (or,
// for a create that made state for its container, running it as a child
// to remove that state if the create fails: undo.go). For
// `create` and `run` it reads the bundle's config.json, decides per
// container (package detect), and for a 32-bit container writes the
// modified spec back atomically (packages modify, spec) and execs the
// runtime in the LINUX32 personality, which runc init and the container
// inherit. For `exec` it looks for the mark in runc's state (package
// runcstate) and sets the personality the same way. For `delete` it
// removes the container's cpuinfo file (package statedir). Every other
// command is handed over without reading any file. It never writes to
// stdout; it logs like runc (package runclog).
//
// The hook ([HookMain], hook.go) serves runtimes that the wrapper cannot
// sit in front of (podman and CRI-O's own runc/crun calls): it mounts the
// cpuinfo inside the container's mount namespace. Package install
// registers either with an engine (docker, containerd, podman, CRI-O,
// BuildKit, buildkitd).
package shim

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runclog"
	"github.com/armhf-shim/armhf-shim/shim/runcstate"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/spec"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Plan is what the wrapper execs.
type Plan struct {
	Path    string   // the real runtime
	Argv    []string // argv[0] and the original arguments (minus armhf-shim's flags)
	Env     []string
	Linux32 bool // exec in the LINUX32 personality
	// Undo is the state this create made for its container, to remove if
	// the runtime fails to create it (nil: nothing to undo, a plain exec).
	Undo *Undo
}

// Undo is the state a create or detached run made for a container that
// the runtime may yet fail to create. Only the runtime's exit says so,
// and an engine need not call delete for a container whose create
// failed (podman killed during the create never does), so the wrapper
// then runs the runtime as its child instead of exec'ing it, and removes
// the state itself (runUndoing).
type Undo struct {
	Dir statedir.Dir
	ID  string
	// RuncRoot is runc's --root ("": its default).
	RuncRoot string
	// RuncKnew: runc already had a container with this id, so this create
	// can only fail and the state is this create's alone.
	RuncKnew bool
}

// Env is the wrapper's view of its process: injectable for tests.
type Env struct {
	Getenv  func(string) string
	Environ func() []string
	// SelfID identifies the running binary (runtimecfg.SelfID).
	SelfID func() (runtimecfg.FileID, error)
	GOARCH string
	// CanLinux32 reports whether this host accepts the LINUX32
	// personality (nil: try it on a locked thread).
	CanLinux32 func() error
	// Binfmt reports whether binfmt_misc can be read here and whether an
	// enabled handler (QEMU) takes the compat target's 32-bit ELFs (nil:
	// /proc/sys/fs/binfmt_misc).
	Binfmt func() (readable, emulated bool)
}

// ProcessEnv is the real process environment.
func ProcessEnv() Env {
	return Env{Getenv: os.Getenv, Environ: os.Environ, GOARCH: goruntime.GOARCH,
		SelfID: func() (runtimecfg.FileID, error) { return runtimecfg.SelfID(os.Args[0]) }}
}

// binfmtDir is where binfmt_misc is mounted on a systemd host.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

func (e Env) binfmt() (readable, emulated bool) {
	if e.Binfmt != nil {
		return e.Binfmt()
	}
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); err != nil {
		return false, false
	}
	m, err := uname.Machine()
	if err != nil {
		return true, false
	}
	_, on := uname.BinfmtHandler(binfmtDir, m)
	return true, on
}

// passNoCompat decides for a 32-bit container on a host whose kernel has
// no 32-bit mode: an auto-detected image is left to binfmt_misc's emulator
// when one takes 32-bit ELFs, or when binfmt_misc cannot be read (there
// may be one); otherwise it would only fail later with "exec format error"
// (or a 32-bit build would silently be something else), so the wrapper
// refuses it, saying why.
func passNoCompat(rule detect.Rule, binfmtReadable, emulated bool) bool {
	return rule == detect.RuleAuto && (emulated || !binfmtReadable)
}

func (e Env) canLinux32() error {
	if e.CanLinux32 != nil {
		return e.CanLinux32()
	}
	return uname.WithPersonality(uname.PerLinux32, func() error { return nil })
}

// RuntimeMain is the OCI runtime wrapper: args are argv[1:] as runc would
// receive them. It returns the exit code; where it can, the process
// becomes the real runtime instead (and returns only on failure).
func RuntimeMain(args []string) int {
	inv, err := runcargs.Parse(args)
	if err != nil {
		return failUnparsed(args, err)
	}
	log := runclog.New(inv.Global.Log, inv.Global.LogFormat, inv.Global.Debug)
	var sigs chan os.Signal
	if inv.Command == "create" || inv.Command == "run" {
		// Held from before the container's state is made, so that a
		// signal meant for the runtime reaches it (runUndoing) and the
		// state is still removed after it.
		sigs = make(chan os.Signal, len(forwardedSignals))
		signal.Notify(sigs, forwardedSignals...)
	}
	plan, err := Prepare(inv, ProcessEnv(), log)
	if plan.Undo == nil && sigs != nil {
		releaseSignals(sigs)
	}
	if err != nil {
		log.Fatalf("%v", err)
		return 1
	}
	log.Close()
	if plan.Undo != nil {
		return runUndoing(plan, sigs, log)
	}
	log.Fatalf("%v", execPlan(plan))
	return 1
}

// failUnparsed reports a malformed flag of armhf-shim's own. Docker puts
// those (daemon.json runtimeArgs) before --root, --log and --log-format,
// so the logging flags are looked for in the rest of args: the error
// belongs in the --log file, where containerd reads it for Docker.
func failUnparsed(args []string, err error) int {
	path, format := runcargs.LogFlags(args)
	log := runclog.New(path, format, false)
	log.Fatalf("%v", err)
	log.Close()
	return 1
}

// execPlan execs the real runtime; it returns only on failure.
func execPlan(plan Plan) error {
	if plan.Linux32 {
		return uname.ExecLinux32(plan.Path, plan.Argv, plan.Env)
	}
	err := syscall.Exec(plan.Path, plan.Argv, plan.Env)
	return fmt.Errorf("exec %s: %w", plan.Path, err)
}

// Prepare does everything but the exec: finds the real runtime and, for
// create/run/exec/delete, decides and applies the changes.
func Prepare(inv *runcargs.Invocation, env Env, log *runclog.Logger) (Plan, error) {
	cfg, err := runtimecfg.Load(inv.Shim, env.Getenv)
	if err != nil {
		return Plan{}, err
	}
	plan, forward, err := basePlan(inv, env, log, cfg)
	if err != nil || forward {
		return plan, err
	}
	dir := statedir.Dir{Root: cfg.StateRoot}
	switch inv.Command {
	case "create", "run":
		plan.Linux32, plan.Undo, err = prepareCreate(inv, env, cfg, dir, log)
	case "exec":
		plan.Linux32 = execMarked(inv, log)
	case "delete":
		removeState(inv, dir, log)
	default:
		log.Debugf("%q: passing through to %s", inv.Command, plan.Path)
	}
	if err != nil {
		return Plan{}, err
	}
	if plan.Linux32 {
		log.Debugf("%s %s: exec %s in the LINUX32 personality", inv.Command, inv.ContainerID, plan.Path)
	}
	return plan, nil
}

// basePlan finds the real runtime, and says whether to only forward
// (another armhf-shim called this one as its runtime).
func basePlan(inv *runcargs.Invocation, env Env, log *runclog.Logger, cfg runtimecfg.Config) (plan Plan, forward bool, err error) {
	self, err := env.SelfID()
	if err != nil {
		return Plan{}, false, fmt.Errorf("identifying armhf-shim's own binary: %w", err)
	}
	seenVal := env.Getenv(runtimecfg.EnvSeen)
	seen := runtimecfg.SplitSeen(seenVal)
	rt, err := runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, env.Getenv("PATH"), self, seen)
	if err != nil {
		return Plan{}, false, err
	}
	newSeen := self.String()
	if seenVal != "" {
		newSeen = seenVal + ":" + newSeen
	}
	plan = Plan{
		Path: rt,
		Argv: append([]string{rt}, inv.Args...),
		Env:  setEnv(env.Environ(), runtimecfg.EnvSeen, newSeen),
	}
	if seenVal != "" {
		// Another armhf-shim called us as its runtime: it has done the work.
		log.Debugf("called by armhf-shim %s as its runtime: forwarding %s to %s", seenVal, inv.Command, rt)
		return plan, true, nil
	}
	return plan, false, nil
}

// removeState removes a deleted container's cpuinfo.
func removeState(inv *runcargs.Invocation, dir statedir.Dir, log *runclog.Logger) {
	if len(inv.Unknown) > 0 {
		// The id may be an unknown flag's value: another container's.
		log.Debugf("delete: flags armhf-shim cannot read (%s): container id unknown, no cpuinfo removed", strings.Join(inv.Unknown, " "))
		return
	}
	if runcargs.ValidID(inv.ContainerID) {
		if err := dir.Remove(inv.ContainerID); err != nil {
			log.Warnf("removing the cpuinfo of container %s: %v", inv.ContainerID, err)
		}
	}
}

// setEnv returns env with key=value (replacing an earlier value).
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			continue
		}
		out = append(out, kv)
	}
	return append(out, key+"="+value)
}

// bundleDir is the --bundle of create/run, made absolute (default: cwd).
func bundleDir(b string) (string, error) {
	if b == "" {
		b = "."
	}
	return filepath.Abs(b)
}

// prepareCreate decides for a create/run and applies the modifiers to a
// 32-bit container (cfg: for the configured uname machine). It reports
// whether to exec in LINUX32, and the state to undo if the create fails.
func prepareCreate(inv *runcargs.Invocation, env Env, cfg runtimecfg.Config, dir statedir.Dir, log *runclog.Logger) (bool, *Undo, error) {
	if len(inv.Unknown) > 0 {
		log.Warnf("%s: armhf-shim cannot read the flag(s) %s, so the container id and bundle are unknown: "+
			"container not modified (passed to the real runtime untouched); if the runtime accepts these flags, update armhf-shim",
			inv.Command, strings.Join(inv.Unknown, " "))
		return false, nil, nil
	}
	if !runcargs.ValidID(inv.ContainerID) {
		// runc rejects it with its own message.
		log.Debugf("%s: no valid container id (%q): passing through", inv.Command, inv.ContainerID)
		return false, nil, nil
	}
	if len(inv.UnknownGlobal) > 0 {
		log.Debugf("%s: global flags armhf-shim does not know, passed on as they are: %s", inv.Command, strings.Join(inv.UnknownGlobal, " "))
	}
	bundle, err := bundleDir(inv.Bundle)
	if err != nil {
		return false, nil, err
	}
	dec, b, err := detect.ForBundle(bundle, nil, env.GOARCH)
	if err != nil {
		return false, nil, containerError(inv, err)
	}
	log.Debugf("container %s: %s: %s", inv.ContainerID, decisionWord(dec.Enable), dec.Why)
	if !dec.Enable {
		return false, nil, nil
	}
	return make32(inv, env, cfg, dir, log, dec, b)
}

// make32 makes a container 32-bit: its cpuinfo file and the rewritten
// config.json.
func make32(inv *runcargs.Invocation, env Env, cfg runtimecfg.Config, dir statedir.Dir, log *runclog.Logger, dec detect.Decision, b *detect.Bundle) (bool, *Undo, error) {
	if err := env.canLinux32(); err != nil {
		// An auto-detected armhf image on an arm64 host without AArch32
		// runs under QEMU binfmt, if at all, and is left alone; one asked
		// for explicitly is an error.
		var nc *uname.NoCompatError
		if !errors.As(err, &nc) {
			return false, nil, containerError(inv, err)
		}
		readable, emulated := env.binfmt()
		if passNoCompat(dec.Rule, readable, emulated) {
			log.Debugf("container %s: not changed (binfmt_misc readable %v, a handler takes 32-bit ELFs %v): %v",
				inv.ContainerID, readable, emulated, err)
			return false, nil, nil
		}
		if dec.Rule == detect.RuleAuto {
			err = fmt.Errorf("%w; no binfmt_misc handler in %s takes 32-bit ELFs either, so the 32-bit image (%s) cannot run here", err, binfmtDir, dec.Why)
		}
		return false, nil, containerError(inv, err)
	}
	doc, err := spec.Parse(b.Config)
	if err != nil {
		return false, nil, containerError(inv, fmt.Errorf("%s: %w", b.ConfigPath, err))
	}
	existing, why, err := existingCPUInfo(doc, dir.Root)
	if err != nil {
		return false, nil, containerError(inv, fmt.Errorf("%s: %w", b.ConfigPath, err))
	}
	var src string // "": the container's own mount at /proc/cpuinfo stays
	var created bool
	if existing.Replace() {
		if src, created, err = cpuinfoFile(inv, dir, b.View.Cpus()); err != nil {
			return false, nil, containerError(inv, err)
		}
	} else {
		log.Debugf("container %s: no armv7 cpuinfo mounted: %s wins", inv.ContainerID, why)
	}
	machine, err := machineMods(b, env.GOARCH, cfg)
	if err == nil {
		err = rewrite(b, doc, append(modify.For32Bit(src), machine...))
	}
	if err != nil {
		if created {
			dir.Remove(inv.ContainerID)
		}
		return false, nil, containerError(inv, err)
	}
	if src == "" {
		src = "its own cpuinfo"
	}
	log.Debugf("container %s: %s over %s, linux.personality LINUX32, annotation %s=%s written to %s",
		inv.ContainerID, src, modify.CPUInfoTarget, modify.AnnotationMark, modify.MarkValue, b.ConfigPath)
	if !created {
		return true, nil, nil
	}
	return true, &Undo{Dir: dir, ID: inv.ContainerID, RuncRoot: inv.Global.Root, RuncKnew: runcKnows(inv.Global.Root, inv.ContainerID)}, nil
}

// existingCPUInfo says whose the mount at /proc/cpuinfo in doc is, if
// there is one; the host's mount table is read only then.
func existingCPUInfo(doc *spec.Doc, stateRoot string) (modify.Existing, string, error) {
	m, found, err := doc.MountAt(modify.CPUInfoTarget)
	if err != nil {
		return 0, "", err
	}
	var fsType string
	if found && filepath.IsAbs(m.Source) {
		fsType = mountinfo.FSType(filepath.Clean(m.Source))
	}
	e, why := modify.ClassifyCPUInfo(m, found, fsType, stateRoot)
	return e, why, nil
}

func containerError(inv *runcargs.Invocation, err error) error {
	return fmt.Errorf("container %s: %w", inv.ContainerID, err)
}

// cpuinfoFile is the cpuinfo file to mount: shared for an attached run
// (runc deletes the container itself; no delete will come), the
// container's own otherwise; created says this call made the container's
// directory.
func cpuinfoFile(inv *runcargs.Invocation, dir statedir.Dir, cpus string) (src string, created bool, err error) {
	if inv.Command == "run" && !inv.Detach {
		src, err = dir.SharedCPUInfo(cpus)
		return src, false, err
	}
	return dir.CreateCPUInfo(inv.ContainerID, cpus)
}

func decisionWord(enable bool) string {
	if enable {
		return "32-bit, modifying"
	}
	return "passing through"
}

// rewrite applies mods to doc, the bundle's parsed config, and replaces the file
// atomically, keeping its mode and owner.
func rewrite(b *detect.Bundle, doc *spec.Doc, mods []modify.Modifier) error {
	if err := modify.Apply(doc, mods...); err != nil {
		return fmt.Errorf("%s: %w", b.ConfigPath, err)
	}
	out, err := doc.Marshal()
	if err != nil {
		return err
	}
	// No fsync: the bundle lives as long as the container, and runc reads
	// it right away.
	return fsutil.ReplaceOwnedFile(b.ConfigPath, out, b.Perm, b.UID, b.GID)
}

// execMarked reports whether the container of a `runc exec` was made
// 32-bit at create. Any failure to tell means "no": runc reports a missing
// container itself.
func execMarked(inv *runcargs.Invocation, log *runclog.Logger) bool {
	ok, err := runcstate.Labeled(inv.Global.Root, inv.ContainerID, modify.AnnotationMark, modify.MarkValue)
	if err != nil {
		log.Debugf("exec %s: cannot read runc's state (%v): passing through", inv.ContainerID, err)
		return false
	}
	if !ok {
		log.Debugf("exec %s: container not marked: passing through", inv.ContainerID)
	}
	return ok
}
