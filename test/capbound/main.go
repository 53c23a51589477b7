// Command capbound is a test harness OCI runtime for dockerd: it removes
// from a container's capabilities those outside its own bounding set, then
// execs the real runc (--real=PATH, its first argument) with the rest of
// its arguments.
//
// Why: root in this project's sandboxes may lack a capability
// (CAP_SYS_RESOURCE), and dockerd gives a --privileged container (the
// buildx docker-container driver's builder) every capability it knows;
// runc cannot grant one the process does not have and the start fails. A
// host with the full set needs none of this.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], "--real=") {
		// dockerd asks the registered path itself for --version.
		os.Args = append([]string{os.Args[0], "--real=/usr/sbin/runc"}, os.Args[1:]...)
	}
	real := strings.TrimPrefix(os.Args[1], "--real=")
	args := os.Args[2:]
	if file, inProcess, ok := specFile(args); ok {
		if err := filter(file, inProcess); err != nil {
			fmt.Fprintln(os.Stderr, "capbound:", err)
			os.Exit(1)
		}
	}
	err := syscall.Exec(real, append([]string{real}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "capbound: exec", real, err)
	os.Exit(1)
}

// specFile is the file holding the capabilities of a create or run
// (the bundle's config.json; runc's default bundle is the working
// directory) or of an exec (its --process file, a process object).
func specFile(args []string) (file string, isProcess, ok bool) {
	cmd, bundle, process := "", ".", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func(long, short string) (string, bool) {
			if (a == long || a == short) && i+1 < len(args) {
				i++
				return args[i], true
			}
			v, ok := strings.CutPrefix(a, long+"=")
			return v, ok
		}
		if v, ok := val("--bundle", "-b"); ok {
			bundle = v
		} else if v, ok := val("--process", "-p"); ok {
			process = v
		} else if cmd == "" && (a == "create" || a == "run" || a == "exec") {
			cmd = a
		}
	}
	switch {
	case cmd == "exec" && process != "":
		return process, true, true
	case cmd == "create" || cmd == "run":
		return filepath.Join(bundle, "config.json"), false, true
	}
	return "", false, false
}

func filter(path string, isProcess bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	bnd, err := boundingSet()
	if err != nil {
		return err
	}
	var spec map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers written back as they were
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	proc := spec
	if !isProcess {
		proc, _ = spec["process"].(map[string]any)
	}
	caps, _ := proc["capabilities"].(map[string]any)
	if caps == nil {
		return nil
	}
	for set, v := range caps {
		list, _ := v.([]any)
		kept := []any{}
		for _, c := range list {
			if n, ok := capNumbers[fmt.Sprint(c)]; ok && bnd&(1<<n) == 0 {
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// boundingSet is CapBnd of /proc/self/status.
func boundingSet() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd in /proc/self/status")
}

// capNumbers are the capabilities' bits (linux/capability.h).
var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
	"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
	"CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
	"CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
	"CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
	"CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
	"CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}
