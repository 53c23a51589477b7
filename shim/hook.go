package shim

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/nsmount"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/spec"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ParseHookState decodes the OCI state a runtime passes to a hook on
// stdin as encoding/json decodes it into specs.State; members it does not
// name are skipped, as a newer runtime-spec may add some.
func ParseHookState(data []byte) (specs.State, error) {
	var st specs.State
	d := jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return st, err
	case tok.Kind() == 'n':
		return st, stateEnd(d)
	case tok.Kind() != '{':
		return st, fmt.Errorf("not a JSON object")
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return st, err
		}
		n := name.String()
		switch {
		case strings.EqualFold(n, "ociVersion"):
			st.Version, err = stateString(d)
		case strings.EqualFold(n, "id"):
			st.ID, err = stateString(d)
		case strings.EqualFold(n, "status"):
			var s string
			s, err = stateString(d)
			st.Status = specs.ContainerState(s)
		case strings.EqualFold(n, "bundle"):
			st.Bundle, err = stateString(d)
		case strings.EqualFold(n, "pid"):
			var raw jsontext.Value
			if raw, err = d.ReadValue(); err == nil && raw.Kind() != 'n' {
				if st.Pid, err = strconv.Atoi(string(raw)); err != nil {
					err = fmt.Errorf("%s is not an integer", raw)
				}
			}
		case strings.EqualFold(n, "annotations"):
			st.Annotations, err = stateAnnotations(d)
		default:
			err = d.SkipValue()
		}
		if err != nil {
			return st, fmt.Errorf("%s: %w", n, err)
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return st, err
	}
	return st, stateEnd(d)
}

// stateString reads a string member of the state (null is "").
func stateString(d *jsontext.Decoder) (string, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return "", err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 'n':
		return "", nil
	}
	return "", fmt.Errorf("not a string")
}

// stateAnnotations reads the annotations of the state: an object of
// strings, or null.
func stateAnnotations(d *jsontext.Decoder) (map[string]string, error) {
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() == 'n' {
		return nil, err
	}
	if tok.Kind() != '{' {
		return nil, fmt.Errorf("not an object")
	}
	m := map[string]string{}
	for d.PeekKind() != '}' {
		k, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		if m[k.String()], err = stateString(d); err != nil {
			return nil, err
		}
	}
	_, err = d.ReadToken()
	return m, err
}

// stateEnd checks that nothing but whitespace follows the state.
func stateEnd(d *jsontext.Decoder) error {
	if _, err := d.ReadToken(); err != io.EOF {
		return fmt.Errorf("data after the OCI state")
	}
	return nil
}

// HookMain is the OCI hook for podman and CRI-O (registered for the
// createRuntime stage — or prestart, or createContainer for containers
// without a user namespace — and poststop for the cleanup). args
// are the hook's arguments after "hook": [--armhf-shim-state-root DIR]
// [--armhf-shim-config FILE] [--debug]. The state comes on stdin. It
// writes nothing to stdout; errors go to stderr, which the runtime puts
// in its error message.
//
// A hook cannot change the personality of the container process: the
// runtime wrapper registered with the engine (install podman-runtime,
// crio) can, and the hook steps aside for the containers it marked.
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
	cfg, err := runtimecfg.Load(flags, hookGetenv(os.Getenv, os.Getppid(), runtimecfg.InUserNamespace))
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
	if st.Annotations[modify.AnnotationMark] == modify.MarkValue || b.View.Annotations[modify.AnnotationMark] == modify.MarkValue {
		debugf("container %s: the runtime wrapper made it 32-bit (annotation %s): nothing to do", st.ID, modify.AnnotationMark)
		return nil
	}
	if step, why, err := hookStepsAside(b, cfg.StateRoot); err != nil {
		return fmt.Errorf("container %s: %w", st.ID, err)
	} else if step {
		debugf("container %s: no armv7 cpuinfo mounted: %s wins", st.ID, why)
		return nil
	}
	// crun runs createContainer hooks from the container process itself,
	// in its namespaces, and sends pid 0: nsmount then joins nothing, and
	// b.Rootfs (root.path, relative to the bundle, crun's working
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

// hookStepsAside reports whether the container's spec already has a
// mount at /proc/cpuinfo the hook must leave alone: the user's own, or
// the runtime wrapper's. Only LXCFS's is mounted over.
func hookStepsAside(b *detect.Bundle, stateRoot string) (bool, string, error) {
	doc, err := spec.Parse(b.Config)
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", b.ConfigPath, err)
	}
	e, why, err := existingCPUInfo(doc, stateRoot)
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", b.ConfigPath, err)
	}
	return e == modify.ExistingUser || e == modify.ExistingOurs, why, nil
}

// hookGetenv is the environment the hook reads its settings from: its
// own, except that in a user namespace without XDG_RUNTIME_DIR it takes
// that of its parent. Rootless podman runs poststop hooks itself with an
// empty environment, while its own (and that of the runc which ran the
// createRuntime hook) has the user's XDG_RUNTIME_DIR, where the cpuinfo
// files are: without it the cleanup looked in /run/armhf-shim and every
// rootless container left its cpuinfo behind.
func hookGetenv(getenv func(string) string, ppid int, inUserNS func() bool) func(string) string {
	if getenv("XDG_RUNTIME_DIR") != "" || !inUserNS() {
		return getenv
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/environ")
	if err != nil {
		return getenv
	}
	xdg, _ := detect.LookupEnv(strings.Split(string(b), "\x00"), "XDG_RUNTIME_DIR")
	return func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return xdg
		}
		return getenv(k)
	}
}
