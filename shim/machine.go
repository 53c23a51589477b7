package shim

import (
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// machineMods are the modifiers that make a 32-bit container's uname
// report the configured machine (docs/uname.md): none when no machine is
// asked for. The container's own setting — the annotation
// io.armhf-shim.machine, else ARMHF_SHIM_MACHINE in its environment —
// beats the wrapper's (cfg.Uname: its environment, then the config file).
func machineMods(b *detect.Bundle, goarch string, cfg runtimecfg.Config) ([]modify.Modifier, error) {
	machine := b.View.Annotations[modify.AnnotationMachine]
	if machine == "" {
		machine, _ = detect.LookupEnv(b.View.Env(), runtimecfg.EnvMachine)
	}
	if machine == "" && cfg.Uname != nil {
		machine = cfg.Uname.Machine
	}
	if machine == "" {
		return nil, nil
	}
	if err := notify.CheckMachine(machine); err != nil {
		return nil, err
	}
	return []modify.Modifier{modify.UnameNotify(goarch, cfg.SeccompAgent(), machine)}, nil
}
