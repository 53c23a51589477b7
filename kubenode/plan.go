// Package kubenode is the Kubernetes node installer: what the DaemonSet of
// deploy/kubernetes runs on every node, with the node's root file system
// mounted at a host-root prefix (/host).
//
// The model: the facts of the node (doctor's verdict on AArch32, its node
// labels, the binaries to copy) go in, a plan of steps comes out (Plan, a
// pure function tested on tables), and Apply makes the steps' side effects
// below the root:
//
//   - on a node where armhf code runs natively: the static binaries are
//     copied to BinDir, `install containerd --root` writes the drop-in
//     declaring the armhf handler, containerd is restarted when that
//     changed anything, in this run or in one that failed before its
//     restart (systemd, a signal, or not at all: Restart), and the
//     node-feature-discovery labels are written;
//   - on any other node: the labels alone (aarch32=false), nothing else;
//   - with Undo: `uninstall containerd --root`, the restart, the binaries
//     and the labels removed.
//
// Every step is idempotent, so the DaemonSet's pod may run it again at any
// time; containerd is restarted only when its configuration changed since
// it was last restarted (restartPending).
package kubenode

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
)

// Defaults, as paths on the node (below Root).
const (
	DefaultBinDir           = "/opt/armhf-shim/bin"
	DefaultContainerdConfig = "/etc/containerd/config.toml"
	DefaultSocket           = "/run/containerd/containerd.sock"
)

// Binaries are the static programs copied onto the node: the multi-call
// binary and the lean runtime wrapper that containerd runs as the handler.
var Binaries = []string{"armhf-shim", "armhf-runc"}

// Restart modes: how containerd is made to read its changed configuration.
const (
	// RestartSystemd runs `systemctl restart containerd` in the node's
	// root (chroot), as the NVIDIA container toolkit's systemd mode does.
	RestartSystemd = "systemd"
	// RestartSignal sends SIGTERM to the containerd that owns Socket (its
	// pid from the socket's peer credentials: the pod needs hostPID) and
	// waits for the unit's Restart=always to start it again.
	RestartSignal = "signal"
	// RestartNone changes the files only and says what to run.
	RestartNone = "none"
)

// Options of a node install or undo. Paths other than Root and Source are
// the node's own, as containerd and NFD see them.
type Options struct {
	Root             string // the node's / in this container ("" = /)
	BinDir           string // where the binaries go ("" = DefaultBinDir)
	Source           string // the directory the binaries are copied from ("" = this executable's)
	ContainerdConfig string // "" = DefaultContainerdConfig
	// ContainerdVersion is the node's containerd version ("" = ask the
	// node's containerd binary, run in the node's root).
	ContainerdVersion string
	RuntimeName       string // the handler ("" = armhf)
	Restart           string // RestartSystemd (""), RestartSignal, RestartNone
	Socket            string // containerd's socket ("" = DefaultSocket)
	NFDFile           string // "" = doctor.NFDFile
	Undo              bool
	Out               io.Writer // progress, for the pod's log
}

func (o *Options) defaults() error {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Root, "/")
	def(&o.BinDir, DefaultBinDir)
	def(&o.ContainerdConfig, DefaultContainerdConfig)
	def(&o.Restart, RestartSystemd)
	def(&o.Socket, DefaultSocket)
	def(&o.NFDFile, doctor.NFDFile)
	for _, p := range []string{o.BinDir, o.ContainerdConfig, o.Socket, o.NFDFile} {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%q: node paths must be absolute (they are the node's own, below --root)", p)
		}
	}
	switch o.Restart {
	case RestartSystemd, RestartSignal, RestartNone:
	default:
		return fmt.Errorf("--restart %q: want %s, %s or %s", o.Restart, RestartSystemd, RestartSignal, RestartNone)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return nil
}

// Facts are what the plan is made from.
type Facts struct {
	// Native is doctor's verdict: this node runs its 32-bit target's code
	// natively (doctor.Report.Runs32Native).
	Native bool
	Labels []doctor.NodeLabel
}

// Kind is what a step does.
type Kind int

const (
	CopyBinary        Kind = iota // Src (in this container) to Path (on the node)
	Containerd                    // install (or uninstall) the containerd runtime handler (drop-in, or config.toml's CRI section on containerd 1.x)
	RestartContainerd             // when restartPending says the configuration changed since the last restart
	WriteLabels                   // Data to Path
	RemoveFile                    // Path, if present
	RemoveDirIfEmpty              // Path
)

// Step is one side effect; Path is the node's path (Apply adds Root).
type Step struct {
	Kind      Kind
	Path, Src string
	Data      []byte
}

func (s Step) String() string {
	switch s.Kind {
	case CopyBinary:
		return "copy " + s.Src + " to " + s.Path
	case Containerd:
		return "containerd runtime handler for " + s.Path
	case RestartContainerd:
		return "restart containerd (" + s.Src + ") if its configuration changed"
	case WriteLabels:
		return "node labels to " + s.Path
	case RemoveFile:
		return "remove " + s.Path
	case RemoveDirIfEmpty:
		return "remove directory " + s.Path + " if empty"
	}
	return fmt.Sprintf("step %d", s.Kind)
}

// Plan is the steps for o on a node with facts f.
func Plan(o Options, f Facts) ([]Step, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	labels := Step{Kind: WriteLabels, Path: o.NFDFile, Data: doctor.NFDFeatures(f.Labels)}
	if o.Undo {
		s := []Step{
			{Kind: Containerd, Path: o.ContainerdConfig},
			{Kind: RestartContainerd, Src: o.Restart},
		}
		for _, b := range Binaries {
			s = append(s, Step{Kind: RemoveFile, Path: filepath.Join(o.BinDir, b)})
		}
		// BinDir and the directory made for it (/opt/armhf-shim), once empty.
		s = append(s, Step{Kind: RemoveDirIfEmpty, Path: o.BinDir})
		if parent := filepath.Dir(o.BinDir); filepath.Base(parent) == "armhf-shim" {
			s = append(s, Step{Kind: RemoveDirIfEmpty, Path: parent})
		}
		return append(s, Step{Kind: RemoveFile, Path: o.NFDFile}), nil
	}
	if !f.Native {
		return []Step{labels}, nil
	}
	var s []Step
	for _, b := range Binaries {
		s = append(s, Step{Kind: CopyBinary, Src: filepath.Join(o.Source, b), Path: filepath.Join(o.BinDir, b)})
	}
	// The labels come last: armhf pods are scheduled here only once the
	// handler they name is in place.
	return append(s,
		Step{Kind: Containerd, Path: o.ContainerdConfig},
		Step{Kind: RestartContainerd, Src: o.Restart},
		labels), nil
}
