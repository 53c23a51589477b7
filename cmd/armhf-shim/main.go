// Command armhf-shim makes an arm64 host look like a native armv7 machine
// to armhf workloads (and, as the same mechanism's test bed, an x86_64 host
// like an i686 one).
//
// It is one static binary with several entry points:
//
//	armhf-shim exec -- CMD       run CMD as on an armv7 machine
//	armhf-shim cpuinfo           print the armv7 /proc/cpuinfo of this host
//	armhf-shim doctor            can this host build armhf natively?
//	armhf-shim runtime ...       OCI runtime wrapper (also as argv[0] runc / armhf-runc)
//	armhf-shim hook              OCI hook for podman and CRI-O
//	armhf-shim install|uninstall register with docker, containerd, podman, CRI-O, BuildKit, ...
//	armhf-shim setup             install for every engine found, then doctor
//	armhf-shim docker ...        docker CLI wrapper (also as argv[0] docker)
//	armhf-shim dind ...          a 32-bit dockerd
//	armhf-shim buildx image      a docker buildx builder image with the runtime wrapper
//	armhf-shim seccomp-agent     answer containers' uname (runc listenerPath)
//	armhf-shim node-install      the Kubernetes DaemonSet's node installer (docs/fleet.md)
//
// The runtime, hook and docker paths are dispatched before any command-line
// framework is set up: they run on every container operation and must cost
// no more than the exec they end in.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	// Multi-call: installed as runc / armhf-runc / docker.
	switch filepath.Base(argv[0]) {
	case "runc", "armhf-runc":
		return runtimeMain(argv[1:])
	case "docker":
		return dockerMain(argv[1:])
	}
	// A shell completing `armhf-shim hook <TAB>` must get the candidates,
	// not a hook waiting for a state on the terminal.
	if len(argv) > 1 && argv[len(argv)-1] != "--generate-bash-completion" {
		switch argv[1] {
		case "runtime":
			return runtimeMain(argv[2:])
		case "docker":
			return dockerMain(argv[2:])
		case "hook":
			return hookMain(argv[2:])
		}
	}
	return runApp(argv)
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "armhf-shim",
		Usage:   "make an arm64 host look like a native armv7 machine to armhf workloads",
		Version: version,
		Description: "64-bit ARM servers (Graviton1-3, Ampere Altra, Neoverse N1/V1) run 32-bit ARM code natively,\n" +
			"but armhf builds see aarch64 and 'CPU architecture: 8' and pick the wrong platform. armhf-shim gives\n" +
			"them the LINUX32 personality (uname -m: armv8l) and an armv7 /proc/cpuinfo, by every route a build\n" +
			"farm uses: a command wrapper (exec), an OCI runtime wrapper and hook, a docker CLI wrapper, a 32-bit dockerd.",
		HideHelpCommand: true,
		// The completion scripts ask the binary (--generate-bash-completion).
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			execCommand(),
			cpuinfoCommand(),
			doctorCommand(),
			passthroughCommand("runtime", "OCI runtime wrapper around runc (also active as argv[0] runc or armhf-runc)", runtimeMain),
			passthroughCommand("hook", "OCI hook for podman and CRI-O (createRuntime; also createContainer/prestart): reads the state on stdin", hookMain),
			installCommand(),
			uninstallCommand(),
			setupCommand(),
			passthroughCommand("docker", "docker CLI wrapper that adds the armv7 cpuinfo to docker run (also active as argv[0] docker)", dockerMain),
			dindCommand(),
			buildxCommand(),
			seccompAgentCommand(),
			nodeInstallCommand(),
			completionCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // runApp prints and maps errors
	}
}

// passthroughCommand lists a fast-path entry point in the help; run
// dispatches to it before the app is built, so Action is reached only
// through unusual spellings (e.g. a global flag before the command).
func passthroughCommand(name, usage string, entry func([]string) int) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			if code := entry(c.Args().Slice()); code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

func runApp(argv []string) int {
	err := newApp().Run(argv)
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "armhf-shim: "+msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "armhf-shim: "+err.Error())
	return 2
}
