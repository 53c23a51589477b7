package shim

import (
	"flag"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strconv"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/nsmount"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ParseHookState decodes the OCI state a runtime passes to a hook on
// stdin; members specs.State does not name are ignored, as a newer
// runtime-spec may add some.
func ParseHookState(data []byte) (specs.State, error) {
	var st specs.State
	var m [6][]byte
	err := rawjson.CheckMembers(data, hookStateMembers, m[:])
	if err == rawjson.ErrNotObject && rawjson.IsNull(data) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	status := string(st.Status)
	for i, dst := range []*string{&st.Version, &st.ID, &status, nil, &st.Bundle} {
		if dst == nil {
			continue
		}
		if *dst, err = rawjson.MemberString(m[i]); err != nil {
			return st, fmt.Errorf("%s: %w", hookStateMembers[i], err)
		}
	}
	st.Status = specs.ContainerState(status)
	if m[3] != nil && !rawjson.IsNull(m[3]) {
		if st.Pid, err = strconv.Atoi(string(m[3])); err != nil {
			return st, fmt.Errorf("pid %s is not an integer", m[3])
		}
	}
	if m[5] != nil {
		if st.Annotations, err = rawjson.StringMap(m[5]); err != nil {
			return st, fmt.Errorf("annotations: %w", err)
		}
	}
	return st, nil
}

// hookStateMembers are the members of specs.State, in the order
// ParseHookState decodes them.
var hookStateMembers = []string{"ociVersion", "id", "status", "pid", "bundle", "annotations"}

// HookMain is the OCI hook for podman and CRI-O (registered for the
// createRuntime stage — or prestart, or createContainer for containers
// without a user namespace — and poststop for the cleanup). args
// are the hook's arguments after "hook": [--armhf-shim-state-root DIR]
// [--armhf-shim-config FILE] [--debug]. The state comes on stdin. It
// writes nothing to stdout; errors go to stderr, which the runtime puts
// in its error message.
//
// A hook cannot change the personality of the container process; use
// podman run --personality=LINUX32 (honoured by crun and runc >= 1.2).
func HookMain(args []string) int {
	if err := Hook(args, os.Stdin, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "armhf-shim hook: %v\n", err)
		return 1
	}
	return 0
}

// Hook runs the hook with the state read from stdin; debug lines go to
// stderr.
func Hook(args []string, stdin io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("armhf-shim hook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var flags runcargs.Shim
	fs.StringVar(&flags.StateRoot, "armhf-shim-state-root", "", "directory for the cpuinfo files (default "+runtimecfg.DefaultStateRoot+")")
	fs.StringVar(&flags.Config, "armhf-shim-config", "", "config file (default "+config.DefaultPath+")")
	debug := fs.Bool("debug", false, "explain the decision on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (the OCI state comes on stdin)", fs.Args())
	}
	debugf := func(format string, a ...any) {
		if *debug {
			fmt.Fprintf(stderr, "armhf-shim hook: "+format+"\n", a...)
		}
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the OCI state on stdin: %w", err)
	}
	st, err := ParseHookState(data)
	if err != nil {
		return fmt.Errorf("malformed OCI state on stdin: %w", err)
	}
	if !runcargs.ValidID(st.ID) {
		return fmt.Errorf("OCI state: invalid container id %q", st.ID)
	}
	cfg, err := runtimecfg.Load(flags, os.Getenv)
	if err != nil {
		return err
	}
	dir := statedir.Dir{Root: cfg.StateRoot}
	if st.Status == specs.StateStopped {
		// poststop: the cleanup.
		debugf("container %s stopped: removing its cpuinfo", st.ID)
		return dir.Remove(st.ID)
	}
	if st.Bundle == "" {
		return fmt.Errorf("container %s: OCI state has no bundle", st.ID)
	}
	dec, b, err := detect.ForBundle(st.Bundle, st.Annotations, goruntime.GOARCH)
	if err != nil {
		return fmt.Errorf("container %s: %w", st.ID, err)
	}
	debugf("container %s: %s: %s", st.ID, decisionWord(dec.Enable), dec.Why)
	if !dec.Enable {
		return nil
	}
	// crun runs createContainer hooks from the container process itself,
	// in its namespaces, and sends pid 0: nsmount then joins nothing, and
	// the root.path above (relative to the bundle, crun's working
	// directory) is the container's root in that mount namespace.
	if st.Pid == 0 && st.Status != specs.StateCreated && st.Status != specs.StateCreating {
		return fmt.Errorf("container %s: OCI state has pid 0 at status %q: register the hook at createRuntime (armhf-shim install podman)", st.ID, st.Status)
	}
	src, err := dir.WriteCPUInfo(st.ID, b.View.Cpus())
	if err != nil {
		if runtimecfg.InUserNamespace() {
			return fmt.Errorf("container %s: %w (the hook runs inside a user namespace: if it is registered at createContainer, register it at createRuntime instead, as armhf-shim install podman does; a rootless runtime needs a state root it can write, such as $XDG_RUNTIME_DIR/armhf-shim)", st.ID, err)
		}
		return fmt.Errorf("container %s: %w", st.ID, err)
	}
	err = nsmount.BindReadOnly(nsmount.Request{Pid: st.Pid, Rootfs: b.Rootfs, Source: src, Target: modify.CPUInfoTarget})
	if err != nil {
		dir.Remove(st.ID)
		return fmt.Errorf("container %s: mounting the armv7 cpuinfo: %w", st.ID, err)
	}
	debugf("container %s: %s mounted over %s", st.ID, src, modify.CPUInfoTarget)
	return nil
}
