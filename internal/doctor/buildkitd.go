package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BuildkitdConfig is a buildkitd.toml as doctor read it.
type BuildkitdConfig struct {
	Path    string // as buildkitd names it
	Present bool
	Err     error // unreadable or malformed (absent is no error)
	Mod     time.Time
	// OCIBinary is [worker.oci] binary ("" = buildkitd's runc), OCIShim
	// whether it is armhf-shim's, OCIOff whether the file turns the OCI
	// worker off.
	OCIBinary string
	OCIShim   bool
	OCIOff    bool
	// ContainerdBinary is the runc of the containerd worker's runc shim
	// (options BinaryName), ContainerdShim whether it is armhf-shim's,
	// ContainerdOff whether the file turns that worker off.
	ContainerdBinary string
	ContainerdShim   bool
	ContainerdOff    bool
	// ContainerdAuto: the file leaves the containerd worker's enabled
	// unset, so buildkitd makes the worker only if containerd answers
	// when it starts.
	ContainerdAuto bool
	// ContainerdAddress is [worker.containerd] address ("" unset): an
	// operator who names a containerd expects the worker.
	ContainerdAddress string
	// Addresses are its [grpc] address.
	Addresses []string
}

// installed: the file registers armhf-shim's wrapper with a worker.
func (c BuildkitdConfig) installed() bool {
	return c.Err == nil && (c.OCIShim || c.ContainerdShim && !c.ContainerdOff)
}

// Buildkitd is a running buildkitd, from its /proc files.
type Buildkitd struct {
	Pid     int
	Started time.Time
	Config  BuildkitdConfig // its --config (read in its mount namespace)
	// FlagBinary is its --oci-worker-binary ("" none), which overrides the
	// config's; FlagShim whether it is armhf-shim's.
	FlagBinary string
	FlagShim   bool
	// OCIWorker and ContainerdWorker are its --oci-worker and
	// --containerd-worker ("true", "false", "auto"; "" unset): set, they
	// override the config's enabled.
	OCIWorker, ContainerdWorker string
	// ContainerdRuntime is its --containerd-worker-runtime ("" unset):
	// buildkitd then replaces the config's runtime, options and all.
	ContainerdRuntime string
	// ContainerdAddr is its --containerd-worker-addr ("" unset).
	ContainerdAddr string
	// Addr is the unix socket doctor asked it on ("" none it could);
	// Workers the executors of the workers it reported ("oci",
	// "containerd") when WorkersKnown, else WorkersNote says why not.
	Addr         string
	Workers      []string
	WorkersKnown bool
	WorkersNote  string
}

// BuildkitdFacts are the default buildkitd.toml and the running buildkitds.
type BuildkitdFacts struct {
	Default BuildkitdConfig
	Daemons []Buildkitd
}

// JudgeBuildkitd judges a standalone buildkitd (install buildkitd, the
// remote buildx driver, builder containers): installed when the default
// buildkitd.toml registers the wrapper, active when a running buildkitd
// runs it — by --oci-worker-binary, or by the config it read when it
// started.
func JudgeBuildkitd(f BuildkitdFacts) Route {
	r := Route{Name: "buildkitd", Installed: f.Default.installed()}
	r.say("%s", describeBuildkitdConfig(f.Default))
	if f.Default.Err != nil {
		r.problem("%s: %v", f.Default.Path, f.Default.Err)
	}
	if len(f.Daemons) == 0 {
		r.say("no running buildkitd")
		return r
	}
	for _, d := range f.Daemons {
		c := d.Config
		if c.Path != f.Default.Path {
			r.say("buildkitd pid %d reads %s", d.Pid, describeBuildkitdConfig(c))
		}
		if c.Err != nil {
			r.problem("buildkitd pid %d's %s: %v", d.Pid, c.Path, c.Err)
		}
		// A config written after buildkitd started is not what it runs.
		stale := c.Present && !d.Started.IsZero() && !readAtStart(d.Started, c.Mod)
		oci := workerOn(d.OCIWorker, c.OCIOff)
		ociShim := false // this buildkitd's OCI worker runs the wrapper
		switch {
		case !oci:
		case d.WorkersKnown && !slices.Contains(d.Workers, "oci"):
			r.say("buildkitd pid %d reports no OCI worker (its workers: %s)", d.Pid, workerList(d.Workers))
		case d.FlagBinary != "" && d.FlagShim:
			r.Active, ociShim = true, true
			r.say("buildkitd pid %d: OCI worker binary %s (--oci-worker-binary), armhf-shim's", d.Pid, d.FlagBinary)
		case d.FlagBinary != "":
			r.say("buildkitd pid %d: OCI worker binary %s (--oci-worker-binary), not armhf-shim", d.Pid, d.FlagBinary)
			if c.OCIShim {
				r.problem("buildkitd pid %d's --oci-worker-binary=%s overrides [worker.oci] binary = %q of %s: drop the flag from its command line and restart it",
					d.Pid, d.FlagBinary, c.OCIBinary, c.Path)
			}
		case stale:
			if c.OCIShim {
				r.say("installed, not active: buildkitd pid %d started before %s was written", d.Pid, c.Path)
			} else {
				// The file changed since (an uninstall, say): it no longer
				// tells what the daemon runs, which buildkitd does not report.
				r.say("buildkitd pid %d started before %s was last written: its OCI worker runs what the file named then, unknown from here", d.Pid, c.Path)
			}
			r.problem("buildkitd pid %d started before %s was last written and reads it only at start: restart it (systemctl restart armhf-buildkitd, or its own service)", d.Pid, c.Path)
		case c.OCIShim:
			r.Active, ociShim = true, true
			r.say("buildkitd pid %d: OCI worker binary %s from %s, armhf-shim's", d.Pid, c.OCIBinary, c.Path)
		default:
			r.say("buildkitd pid %d: OCI worker runs runc, not armhf-shim", d.Pid)
		}
		if c.ContainerdShim && workerOn(d.ContainerdWorker, c.ContainerdOff) {
			// On auto buildkitd makes the containerd worker only if
			// containerd answered when it started, so only the running
			// buildkitd knows.
			auto := d.ContainerdWorker == "auto" || d.ContainerdWorker == "" && c.ContainerdAuto
			noWorker := d.WorkersKnown && !slices.Contains(d.Workers, "containerd")
			named := c.ContainerdAddress != "" || d.ContainerdAddr != "" // an operator names the containerd it expects
			switch {
			case d.ContainerdRuntime != "":
				r.problem("buildkitd pid %d's --containerd-worker-runtime=%s replaces [worker.containerd.runtime] of %s, BinaryName and all: drop the flag and restart it",
					d.Pid, d.ContainerdRuntime, c.Path)
			case stale:
			case noWorker && ociShim && !named:
				// A host without containerd, and no containerd named: the
				// OCI worker builds, and runs the wrapper.
				r.say("buildkitd pid %d reports no containerd worker (its workers: %s); its builds run on the OCI worker", d.Pid, workerList(d.Workers))
			case noWorker:
				r.say("buildkitd pid %d reports no containerd worker (its workers: %s)", d.Pid, workerList(d.Workers))
				r.problem("buildkitd pid %d has no containerd worker, so the wrapper %s that %s gives its runc shim runs nothing: buildkitd makes that worker only if containerd answered when it started; start containerd, then restart buildkitd",
					d.Pid, c.ContainerdBinary, c.Path)
			case d.WorkersKnown:
				r.Active = true
				r.say("buildkitd pid %d: the containerd worker's runc shim runs %s (buildkitd reports the worker)", d.Pid, c.ContainerdBinary)
			case auto:
				r.say("buildkitd pid %d: containerd worker unknown (auto: depends on whether containerd answered when buildkitd started; %s); if it has one, its runc shim runs %s",
					d.Pid, d.WorkersNote, c.ContainerdBinary)
			default:
				// Enabled: buildkitd makes the worker or does not start.
				r.Active = true
				r.say("buildkitd pid %d: the containerd worker's runc shim runs %s", d.Pid, c.ContainerdBinary)
			}
		}
	}
	return r
}

// workerOn is whether a buildkitd worker is on: its flag's value as
// buildkitd parses it (strconv.ParseBool, or auto), else the config's.
func workerOn(flag string, configOff bool) bool {
	if flag == "" {
		return !configOff
	}
	if b, err := strconv.ParseBool(flag); err == nil {
		return b
	}
	return true // auto: on where its runtime is there
}

func workerList(w []string) string {
	if len(w) == 0 {
		return "none"
	}
	return strings.Join(w, ", ")
}

func describeBuildkitdConfig(c BuildkitdConfig) string {
	switch {
	case c.Err != nil:
		return fmt.Sprintf("%s: %v", c.Path, c.Err)
	case !c.Present:
		return "no " + c.Path
	}
	s := c.Path + ": "
	switch {
	case c.OCIShim:
		s += fmt.Sprintf("[worker.oci] binary = %q (armhf-shim)", c.OCIBinary)
	case c.OCIBinary != "":
		s += fmt.Sprintf("[worker.oci] binary = %q (not armhf-shim)", c.OCIBinary)
	default:
		s += "OCI worker binary unset (runc)"
	}
	if c.OCIOff {
		s += ", OCI worker disabled"
	}
	switch {
	case c.ContainerdOff:
		s += "; containerd worker disabled"
	case c.ContainerdShim:
		s += fmt.Sprintf("; containerd worker's runc %q (armhf-shim)", c.ContainerdBinary)
	case c.ContainerdBinary != "":
		s += fmt.Sprintf("; containerd worker's runc %q (not armhf-shim)", c.ContainerdBinary)
	}
	return s
}
