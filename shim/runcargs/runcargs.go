// Package runcargs reads a runc command line the way runc reads it.
//
// The model: an OCI runtime is called as
//
//	runc [global flags] COMMAND [command flags] [ARGS...]
//
// runc uses urfave/cli v1 on top of Go's flag package, so a flag may be
// spelled -name or --name, a value follows as the next argument or after
// "=", a boolean flag takes no separate value but accepts "=true"/"=false",
// and the global flags end at the first argument that is not a flag (the
// command) or at "--". Docker puts the runtimeArgs of daemon.json before
// the global flags it adds itself (--root, --log, --log-format,
// --systemd-cgroup), so they are simply more global flags.
//
// armhf-shim needs only a few facts from a command line — the command, the
// bundle of create/run, the container id, --root and the logging flags — and
// otherwise hands the argv to the real runtime unchanged. Its own global
// flags (--armhf-shim-runtime, --armhf-shim-state-root,
// --armhf-shim-config; usable as daemon.json runtimeArgs) are the only thing
// removed. A flag the parser does not know is recorded in Unknown rather
// than guessed at, so the caller can pass the command through untouched
// and let the real runtime judge it. When Parse fails (a malformed flag of
// armhf-shim's own), [LogFlags] still finds where runc would log the
// error.
package runcargs

import (
	"fmt"
	"strings"
)

// Global holds runc's global flags.
type Global struct {
	Root          string // --root: runc's state directory ("" = runc's default)
	Log           string // --log: log file ("" = stderr)
	LogFormat     string // --log-format: "text" (default) or "json"
	Debug         bool   // --debug
	SystemdCgroup bool   // --systemd-cgroup
	Rootless      string // --rootless: "true", "false" or "auto"
	Criu          string // --criu
}

// Shim holds armhf-shim's own global flags (removed from the argv the real
// runtime sees).
type Shim struct {
	Runtime   string // --armhf-shim-runtime: the real runtime
	StateRoot string // --armhf-shim-state-root: where cpuinfo files live
	Config    string // --armhf-shim-config: config file path
}

// Invocation is a parsed runtime command line.
type Invocation struct {
	// Args is the argv (without argv[0]) for the real runtime: the original
	// with armhf-shim's own flags removed.
	Args    []string
	Global  Global
	Shim    Shim
	Command string // "create", "run", "exec", ...; "" when there is none (--version)
	// Bundle is the --bundle/-b value of create and run ("" means the
	// working directory, as runc does).
	Bundle      string
	ContainerID string // create, run, exec, delete: the container id
	Process     string // exec --process
	Detach      bool   // run/exec --detach: the caller deletes the container later
	// Unknown lists flags of a command whose flags matter that are not
	// runc's, or boolean flags with a value runc rejects; their arity is
	// unknown, so the facts above are guesses (a flag's value may have been
	// taken for the container id): a caller must not act on them, only
	// pass the command through.
	Unknown []string
	// UnknownGlobal lists global flags that are not runc's (a runtimeArg
	// of another runtime, say) or have a value runc rejects. They come
	// before the command, which is still found (a guessed value is never
	// a command name), so the command's facts stay reliable.
	UnknownGlobal []string
}

// flagSpec says whether a flag takes a value, and whether it is known.
// The sets are switch statements rather than maps: a map literal is built
// by package initialisation in every process, and this package runs in
// one that lives two milliseconds per container operation.
type flagSpec func(name string) (takesValue, known bool)

func globalFlag(name string) (bool, bool) {
	switch name {
	case "root", "log", "log-format", "criu", "rootless":
		return true, true
	case "debug", "systemd-cgroup", "help", "h", "version", "v":
		return false, true
	}
	return false, false
}

// shimFlag returns the field of s that armhf-shim's own global flag name
// sets, or nil when name is not one of them.
func shimFlag(s *Shim, name string) *string {
	switch name {
	case "armhf-shim-runtime":
		return &s.Runtime
	case "armhf-shim-state-root":
		return &s.StateRoot
	case "armhf-shim-config":
		return &s.Config
	}
	return nil
}

// Flags of runc create (1.1–1.3).
func createFlag(name string) (bool, bool) {
	switch name {
	case "bundle", "b", "console-socket", "pidfd-socket", "pid-file", "preserve-fds":
		return true, true
	case "no-pivot", "no-new-keyring", "help", "h":
		return false, true
	}
	return false, false
}

// Flags of runc run: create's plus detach/keep/no-subreaper.
func runFlag(name string) (bool, bool) {
	switch name {
	case "detach", "d", "keep", "no-subreaper":
		return false, true
	}
	return createFlag(name)
}

func execFlag(name string) (bool, bool) {
	switch name {
	case "console-socket", "pidfd-socket", "cwd", "env", "e", "user", "u", "additional-gids", "g",
		"process", "p", "pid-file", "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup":
		return true, true
	case "tty", "t", "detach", "d", "no-new-privs", "ignore-paused", "no-subreaper", "help", "h":
		return false, true
	}
	return false, false
}

func deleteFlag(name string) (bool, bool) {
	switch name {
	case "force", "f", "help", "h":
		return false, true
	}
	return false, false
}

// commandFlags returns the flags of the commands whose flags are read;
// every other command is passed through without looking past its name.
func commandFlags(command string) (flagSpec, bool) {
	switch command {
	case "create":
		return createFlag, true
	case "run":
		return runFlag, true
	case "exec":
		return execFlag, true
	case "delete":
		return deleteFlag, true
	}
	return nil, false
}

// splitFlag reports whether arg is a flag and splits "-name=value".
func splitFlag(arg string) (name, value string, hasValue, isFlag bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return "", "", false, false
	}
	name = arg[1:]
	if name[0] == '-' {
		name = name[1:]
	}
	if name == "" || name[0] == '-' || name[0] == '=' {
		// "--" ends flags; "---x" and "-=x" are errors for Go's flag package.
		return "", "", false, false
	}
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], name[i+1:], true, true
	}
	return name, "", false, true
}

func parseBool(name, v string) (bool, error) {
	if b, ok := boolValue(v); ok {
		return b, nil
	}
	return false, fmt.Errorf("invalid boolean value %q for -%s", v, name)
}

// boolValue reads a boolean flag's "=value" as Go's flag package does
// (strconv.ParseBool); ok is false for anything else.
func boolValue(v string) (b, ok bool) {
	switch v {
	case "1", "t", "T", "true", "TRUE", "True":
		return true, true
	case "0", "f", "F", "false", "FALSE", "False":
		return false, true
	}
	return false, false
}

// readAt reads armhf-shim's own flag at argv[i] into s, if it is one (ok),
// and returns the index after it (its value may be the next argument).
func (s *Shim) readAt(argv []string, i int) (next int, ok bool, err error) {
	name, value, hasValue, isFlag := splitFlag(argv[i])
	if !isFlag {
		return i, false, nil
	}
	field := shimFlag(s, name)
	if field == nil {
		return i, false, nil
	}
	if !hasValue {
		if i+1 >= len(argv) {
			return 0, true, badShimValue(name, "", true)
		}
		i++
		value = argv[i]
	}
	if value == "" || value[0] == '-' {
		return 0, true, badShimValue(name, value, false)
	}
	*field = value
	return i + 1, true, nil
}

// badShimValue is the error for a missing or empty value of armhf-shim's
// own flag name, or one that is the next flag (a value-less flag in
// daemon.json runtimeArgs, which Docker puts before --root and --log).
func badShimValue(name, value string, missing bool) error {
	const how = `; write it as one argument, --%s=PATH (in daemon.json: "runtimeArgs": ["--%s=PATH"])`
	switch {
	case missing:
		return fmt.Errorf("flag --%s needs a value"+how, name, name, name)
	case value == "":
		return fmt.Errorf("flag --%s needs a non-empty value"+how, name, name, name)
	}
	return fmt.Errorf("flag --%s needs a value, not %q (a flag)"+how, name, value, name, name)
}

// Parse reads argv (argv[1:] of the runtime process). It fails only when
// one of armhf-shim's own flags is malformed; anything runc would reject is
// left for runc to reject.
func Parse(argv []string) (*Invocation, error) {
	inv := &Invocation{Global: Global{LogFormat: "text"}}
	args := make([]string, 0, len(argv))
	i := 0
	for ; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			args = append(args, arg)
			i++
			break
		}
		name, value, hasValue, isFlag := splitFlag(arg)
		if !isFlag {
			break
		}
		if next, ok, err := inv.Shim.readAt(argv, i); ok {
			if err != nil {
				return nil, err
			}
			i = next - 1
			continue
		}
		args = append(args, arg)
		takesValue, known := globalFlag(name)
		if !known {
			inv.UnknownGlobal = append(inv.UnknownGlobal, arg)
			// An unknown global flag (a runtimeArg of another runtime, say)
			// without "=" takes the next argument as its value unless that
			// is a command name: the guess that keeps the command right.
			// The next argument is the next one the real runtime sees:
			// armhf-shim's own flags in between are read and removed first.
			if hasValue {
				continue
			}
			j := i + 1
			for j < len(argv) {
				next, ok, err := inv.Shim.readAt(argv, j)
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				j = next
			}
			i = j - 1
			if j < len(argv) && !isCommand(argv[j]) {
				if _, _, _, nextIsFlag := splitFlag(argv[j]); !nextIsFlag {
					i = j
					args = append(args, argv[j])
				}
			}
			continue
		}
		if takesValue && !hasValue {
			if i+1 >= len(argv) {
				// runc reports the missing value; the flag is in args
				// already and must not be forwarded twice.
				i++
				break
			}
			i++
			value = argv[i]
			args = append(args, value)
		}
		switch name {
		case "root":
			inv.Global.Root = value
		case "log":
			inv.Global.Log = value
		case "log-format":
			inv.Global.LogFormat = value
		case "criu":
			inv.Global.Criu = value
		case "rootless":
			inv.Global.Rootless = value
		case "debug", "systemd-cgroup":
			b := true
			if hasValue {
				var err error
				if b, err = parseBool(name, value); err != nil {
					// runc rejects it; keep going so its error reaches the user.
					inv.UnknownGlobal = append(inv.UnknownGlobal, arg)
					b = false
				}
			}
			if name == "debug" {
				inv.Global.Debug = b
			} else {
				inv.Global.SystemdCgroup = b
			}
		}
	}
	rest := argv[i:]
	args = append(args, rest...)
	inv.Args = args
	if len(rest) == 0 {
		return inv, nil
	}
	inv.Command = rest[0]
	spec, ok := commandFlags(inv.Command)
	if !ok {
		return inv, nil // passed through without reading further
	}
	parseCommand(inv, spec, rest[1:])
	return inv, nil
}

// parseCommand reads the flags of create/run/exec/delete. runc (urfave/cli
// v1) moves flags that follow positional arguments in front of them, so
// create and run accept "ID --bundle DIR" too; for exec everything after
// the container id is the command to run and is not read.
func parseCommand(inv *Invocation, spec flagSpec, args []string) {
	stopAtID := inv.Command == "exec"
	for j := 0; j < len(args); j++ {
		arg := args[j]
		if arg == "--" {
			if inv.ContainerID == "" && j+1 < len(args) {
				inv.ContainerID = args[j+1]
			}
			return
		}
		name, value, hasValue, isFlag := splitFlag(arg)
		if !isFlag {
			if inv.ContainerID == "" {
				inv.ContainerID = arg
				if stopAtID {
					return
				}
			}
			continue
		}
		takesValue, known := spec(name)
		if !known {
			inv.Unknown = append(inv.Unknown, arg)
			continue
		}
		on := true // a boolean flag's value
		if !takesValue && hasValue {
			var ok bool
			if on, ok = boolValue(value); !ok {
				// runc rejects it; its error reaches the user.
				inv.Unknown = append(inv.Unknown, arg)
				continue
			}
		}
		if takesValue && !hasValue {
			if j+1 >= len(args) {
				return
			}
			j++
			value = args[j]
		}
		switch name {
		case "bundle", "b":
			inv.Bundle = value
		case "process", "p":
			inv.Process = value
		case "detach", "d":
			inv.Detach = on
		}
	}
}

// Serialise returns an argv (without argv[0]) that [Parse] reads as inv:
// armhf-shim's own flags first, each as one --name=value argument, then
// inv.Args, the argv the real runtime gets. Put first, the own flags
// cannot be taken for the value of a flag in Args, and Parse removes them
// wherever they stand.
func Serialise(inv *Invocation) []string {
	out := make([]string, 0, len(inv.Args)+3)
	for _, f := range []struct{ name, value string }{
		{"armhf-shim-runtime", inv.Shim.Runtime},
		{"armhf-shim-state-root", inv.Shim.StateRoot},
		{"armhf-shim-config", inv.Shim.Config},
	} {
		if f.value != "" {
			out = append(out, "--"+f.name+"="+f.value)
		}
	}
	return append(out, inv.Args...)
}

// LogFlags finds runc's --log and --log-format (format "text" without
// one) among the global flags of argv, trusting the arity of no other
// flag: for reporting a [Parse] error where runc would log it, when a
// malformed flag of armhf-shim's own (Docker puts runtimeArgs first) may
// have made the rest unreadable. It stops at "--" and at a command name.
func LogFlags(argv []string) (log, format string) {
	format = "text"
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" || isCommand(arg) {
			break
		}
		name, value, hasValue, isFlag := splitFlag(arg)
		if !isFlag || (name != "log" && name != "log-format") {
			continue
		}
		if !hasValue {
			if i+1 >= len(argv) {
				break
			}
			i++
			value = argv[i]
		}
		if name == "log" {
			log = value
		} else {
			format = value
		}
	}
	return log, format
}

// isCommand reports whether s is a command of runc 1.1–1.3 (or of crun's
// common subset).
func isCommand(s string) bool {
	switch s {
	case "checkpoint", "create", "delete", "events", "exec", "init", "kill", "list", "pause", "ps",
		"restore", "resume", "run", "spec", "start", "state", "update", "features", "help", "h":
		return true
	}
	return false
}

// ValidID reports whether id is a container id runc accepts
// (^[\w+-\.]+$, and not "." or ".."), so it is safe as a path component.
func ValidID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
