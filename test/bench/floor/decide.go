//go:build armhf_decisionfloor

// Built with -tags armhf_decisionfloor, the floor becomes the decision
// floor: the least a runtime wrapper that decides per container can cost.
// Before it execs, it does exactly the work the decision takes — runc's
// arguments parsed for the bundle, then detect.ForBundle, the decision the
// runtime wrapper and the hook make — and nothing else: no configuration
// file, no search for the real runtime, no log, no state, no edit. It runs from init, before
// main execs.
//
// The bench (test/bench/runtimebench) times it beside armhf-runc on the create of a
// 64-bit container, which armhf-runc passes through after deciding: the
// decision floor's added time over the floor's is what deciding itself
// costs; armhf-runc's over the decision floor's is what armhf-runc adds
// to that. It refuses a container the decision would modify: it measures
// only the passthrough.

package main

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
)

func init() {
	if err := decide(os.Args[1:]); err != "" {
		os.Stderr.WriteString("decision floor: " + err + "\n")
		os.Exit(1)
	}
}

// decide makes the decision of a create or run, and reports what stops it.
func decide(args []string) string {
	inv, err := runcargs.Parse(args)
	if err != nil {
		return err.Error()
	}
	if inv.Command != "create" && inv.Command != "run" {
		return "only create and run decide"
	}
	bundle, err := filepath.Abs(inv.Bundle)
	if err != nil {
		return err.Error()
	}
	d, _, err := detect.ForBundle(bundle, nil, runtime.GOARCH)
	switch {
	case err != nil:
		return err.Error()
	case d.Enable:
		return "a 32-bit container (" + d.Why + "): the decision floor measures only the passthrough"
	}
	return ""
}
