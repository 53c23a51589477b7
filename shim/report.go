package shim

import (
	"fmt"
	"os"

	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
)

// InstalledReport says, one line each, what of armhf-shim's runtime route
// is installed on this host (docker, containerd, podman/CRI-O, buildkit),
// which real runtime the wrapper would exec, and how many containers it
// currently has cpuinfo files for. It is what `armhf-shim doctor` prints.
func InstalledReport() []string {
	lines := install.Report(install.DefaultPaths())
	cfg, err := runtimecfg.Load(runcargs.Shim{}, os.Getenv)
	if err != nil {
		return append(lines, "runtime wrapper: "+err.Error())
	}
	self, err := runtimecfg.Self()
	if err != nil {
		return append(lines, "runtime wrapper: "+err.Error())
	}
	rt, err := runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, os.Getenv("PATH"), self, nil)
	if err != nil {
		lines = append(lines, "runtime wrapper: "+err.Error())
	} else {
		lines = append(lines, fmt.Sprintf("runtime wrapper: execs %s (%s)", rt, cfg.RuntimeSource))
	}
	ids, err := statedir.Dir{Root: cfg.StateRoot}.Containers()
	if err != nil {
		return append(lines, fmt.Sprintf("runtime wrapper: state root %s: %v", cfg.StateRoot, err))
	}
	return append(lines, fmt.Sprintf("runtime wrapper: %d container(s) with an armv7 cpuinfo under %s", len(ids), cfg.StateRoot))
}
