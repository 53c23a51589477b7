package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
)

// The podman-runtime and crio targets register the runtime wrapper as a
// named OCI runtime in a drop-in file of the engine's own (the user's main
// config is not touched): the wrapper sets the container's personality,
// which no hook can, so uname -m says armv7l/i686 with no per-run flag.

// Default drop-in paths. podman (containers/common, 4.x included) reads
// containers.conf.d/*.conf after containers.conf; CRI-O reads
// crio.conf.d/* in lexical order after crio.conf.
const (
	DefaultPodmanRuntimeDropIn = "/etc/containers/containers.conf.d/armhf-shim.conf"
	DefaultCrioDropIn          = "/etc/crio/crio.conf.d/10-armhf-shim.conf"
)

// dropInMarker starts every drop-in install writes: a file that has it is
// armhf-shim's.
const dropInMarker = "# Written by armhf-shim install "

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string { return strconv.Quote(s) }

// PodmanRuntimeDropIn renders the containers.conf drop-in registering
// runtime name at path (and, with setDefault, making it podman's default).
func PodmanRuntimeDropIn(name, path string, setDefault bool) []byte {
	var b strings.Builder
	b.WriteString(dropInMarker + "podman-runtime: the OCI runtime " + tomlString(name) + " is\n")
	b.WriteString("# armhf-shim, which makes armhf (32-bit) containers run as armv7 (personality and\n")
	b.WriteString("# cpuinfo) and passes every other container straight to runc.\n")
	fmt.Fprintf(&b, "# Use it with podman run --runtime %s, or as the default runtime.\n", name)
	b.WriteString("[engine]\n")
	if setDefault {
		fmt.Fprintf(&b, "runtime = %s\n", tomlString(name))
	}
	fmt.Fprintf(&b, "\n[engine.runtimes]\n%s = [%s]\n", tomlString(name), tomlString(path))
	return []byte(b.String())
}

// CrioDropIn renders the crio.conf drop-in declaring the runtime handler
// name (usable by a Kubernetes RuntimeClass with handler: name) and, with
// setDefault, making it CRI-O's default.
func CrioDropIn(name, path string, setDefault bool) []byte {
	var b strings.Builder
	b.WriteString(dropInMarker + "crio: the runtime handler " + tomlString(name) + " is armhf-shim,\n")
	b.WriteString("# which makes armhf (32-bit) containers run as armv7 (personality and cpuinfo)\n")
	b.WriteString("# and passes every other container straight to runc. Usable as the handler of a\n")
	fmt.Fprintf(&b, "# Kubernetes RuntimeClass (handler: %s).\n", name)
	if setDefault {
		fmt.Fprintf(&b, "[crio.runtime]\ndefault_runtime = %s\n\n", tomlString(name))
	}
	fmt.Fprintf(&b, "[crio.runtime.runtimes.%s]\nruntime_path = %s\nruntime_type = \"oci\"\n", tomlString(name), tomlString(path))
	return []byte(b.String())
}

// runtimeDropIn is a target whose whole change is one drop-in file.
type runtimeDropIn struct {
	defaultPath string
	render      func(name, path string, setDefault bool) []byte
	apply       string
	notes       []string
	// taken names a runtime of that name the engine's other files
	// declare and that is not armhf-shim's ("" none).
	taken func(root, dropIn, name string) string
	// emptyPATH: the engine runs the runtime with an empty PATH (podman).
	emptyPATH bool
	// previous names the engine's default runtime without the drop-in
	// ("" unknown).
	previous func(root, dropIn string) string
}

var runtimeDropIns = map[string]runtimeDropIn{
	"podman-runtime": {
		defaultPath: DefaultPodmanRuntimeDropIn,
		render:      PodmanRuntimeDropIn,
		apply:       "nothing: podman reads containers.conf at every command",
		notes: []string{"the podman hook (install podman) steps aside for containers this runtime made 32-bit; " +
			"without --set-as-default, run armhf containers with podman run --runtime NAME"},
		taken:     podmanRuntimeTaken,
		emptyPATH: true,
		previous:  podmanDefaultRuntime,
	},
	"crio": {
		defaultPath: DefaultCrioDropIn,
		render:      CrioDropIn,
		apply:       "systemctl restart crio   # CRI-O reads its runtimes at start",
		notes: []string{"for Kubernetes: a RuntimeClass with handler set to the runtime name, " +
			"and runtimeClassName in the pods of armhf images"},
	},
}

func planRuntimeDropIn(o Options, t runtimeDropIn) (Plan, error) {
	path := o.configFile()
	if path == "" {
		path = filepath.Join(o.root(), t.defaultPath)
	}
	tg, err := readTarget(o.Root, path)
	if err != nil {
		return Plan{}, err
	}
	old, rec, oldRec := tg.old, tg.rec, tg.oldRec
	mine := old == nil || rec.ours(path, old) || strings.HasPrefix(string(old), dropInMarker)
	var p Plan
	p.Apply = []string{t.apply}
	if o.Uninstall {
		if !mine {
			return Plan{}, fmt.Errorf("%s was not written by armhf-shim: left unchanged", path)
		}
		var back []byte // what --replace displaced, if anything
		if r, ok := rec.Replaced[path]; ok {
			back = []byte(r)
		}
		p.Files = change(path, old, back, 0o644)
		rec.finish(&p, path, oldRec, true)
		return p, nil
	}
	if !mine && !o.Replace {
		return Plan{}, fmt.Errorf("%s exists and was not written by armhf-shim: left unchanged "+
			"(use --config to write elsewhere, or --replace: it is backed up and put back by uninstall)", path)
	}
	if t.taken != nil {
		if other := t.taken(o.root(), path, o.RuntimeName); other != "" && !o.Replace {
			return Plan{}, fmt.Errorf("%s: the drop-in, which podman reads last, would take its place in every podman command: "+
				"left unchanged (use --runtime-name NAME, or --replace: that file stays untouched and uninstall gives the entry back)", other)
		} else if other != "" {
			p.Notes = append(p.Notes, other+": the drop-in takes its place until uninstall")
		}
	}
	if t.emptyPATH {
		if why := wrapperRuntime(o.root(), o.Binary); why != "" && o.SetAsDefault {
			return Plan{}, fmt.Errorf("the wrapper, which podman runs with an empty PATH, would find no real runtime to exec (%s): "+
				"as the default runtime every podman run would fail; left unchanged: apt-get install runc first (Debian's podman pulls in crun, "+
				"which the wrapper does not run unless configured)", why)
		} else if why != "" {
			p.Notes = append(p.Notes, "podman run --runtime "+o.RuntimeName+" fails until the wrapper finds a real runtime: "+why)
		}
	}
	if t.previous != nil && o.SetAsDefault {
		if prev := t.previous(o.root(), path); prev != "" && prev != "runc" && prev != o.RuntimeName {
			p.Notes = append(p.Notes, fmt.Sprintf("podman's default runtime was %s: every podman container now goes through the wrapper, "+
				"which runs 64-bit ones on runc, not %[1]s (uninstall gives %[1]s back)", prev))
		}
	}
	rt, link := o.runtimeLink()
	if link != nil {
		p.Links = append(p.Links, *link)
	}
	if !mine {
		if rec.Replaced == nil {
			rec.Replaced = map[string]string{}
		}
		rec.Replaced[path] = string(old)
	}
	rec.willCreate(filepath.Dir(path))
	p.Files = change(path, old, t.render(o.RuntimeName, rt, o.SetAsDefault), 0o644)
	rec.finish(&p, path, oldRec, false)
	for _, n := range t.notes {
		p.Notes = append(p.Notes, strings.ReplaceAll(n, "NAME", o.RuntimeName))
	}
	return p, nil
}

// podmanConfBesides is what podman's containers.conf files below root
// other than dropIn say: podman's configuration without the drop-in.
func podmanConfBesides(root, dropIn string) PodmanConf {
	var files []string
	for _, f := range containersConfFiles(root) {
		if f != dropIn {
			files = append(files, f)
		}
	}
	return readPodmanConf(files)
}

// podmanRuntimeTaken names an [engine.runtimes] entry name that a
// containers.conf file other than dropIn declares and that does not run
// armhf-shim: podman decodes its files one over the other, so the drop-in
// would silently replace the operator's runtime of that name.
func podmanRuntimeTaken(root, dropIn, name string) string {
	e, ok := podmanConfBesides(root, dropIn).Runtimes[name]
	if !ok {
		return ""
	}
	for _, p := range e.Paths {
		if isShimPath(inRoot(root, p)) {
			return ""
		}
	}
	return fmt.Sprintf("%s already declares the podman runtime %q (%s), which is not armhf-shim", e.File, name, strings.Join(e.Paths, ", "))
}

// wrapperRuntime says why the wrapper binary, run with an empty PATH and
// environment as podman runs its runtime, would find no real runtime to
// exec ("" it finds one, or root is not this host's /). A variable:
// tests stand in for a host without runc.
var wrapperRuntime = func(root, binary string) string {
	if root != "/" {
		return ""
	}
	cfg, err := runtimecfg.Load(runcargs.Shim{}, func(string) string { return "" })
	if err == nil {
		var self runtimecfg.FileID
		if self, err = runtimecfg.StatID(binary); err == nil {
			_, err = runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, "", self, nil)
		}
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// podmanDefaultRuntime is podman's default runtime without the drop-in:
// the [engine] runtime of its other containers.conf files, else its own
// choice, crun when it is installed (containers/common looks for crun
// first, then runc).
func podmanDefaultRuntime(root, dropIn string) string {
	if rt := podmanConfBesides(root, dropIn).Runtime; rt != "" {
		return rt
	}
	for _, dir := range filepath.SplitList(runtimecfg.StandardPath) {
		if st, err := os.Stat(filepath.Join(root, dir, "crun")); err == nil && st.Mode().IsRegular() {
			return "crun"
		}
	}
	return ""
}
