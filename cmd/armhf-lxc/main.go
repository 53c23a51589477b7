//go:build cgo && linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// streams are where the commands write: stdout only for what list and
// status print, stderr for progress and errors.
type streams struct{ stdout, stderr io.Writer }

// manager is the Manager of --lxcpath, reporting progress on stderr.
func (out streams) manager(c *cli.Context) *lxc.Manager {
	m, err := lxc.NewManager(c.String("lxcpath"), out.stderr)
	if err != nil {
		// Abs fails only without a working directory: keep the path, and
		// let the commands report what fails with it.
		return &lxc.Manager{LXCPath: c.String("lxcpath"), Log: out.stderr}
	}
	return m
}

func newApp(stdout, stderr io.Writer) *cli.App {
	out := streams{stdout: stdout, stderr: stderr}
	app := &cli.App{
		Name:    "armhf-lxc",
		Usage:   "32-bit (armhf on arm64, i386 on x86_64) LXC build hosts, optionally with dockerd inside",
		Version: version,
		Description: "Creates privileged LXC containers whose userland is 32-bit: lxc.arch gives them the LINUX32\n" +
			"personality (uname -m: armv8l on arm64, i686 on x86_64) and an armv7 /proc/cpuinfo is bind-mounted\n" +
			"in, so config.guess, rustup, pip and a 32-bit dockerd inside all see an armv7 machine.\n\n" + nestingWarning,
		HideHelpCommand: true,
		// --env NO_PROXY=a,b, --docker-arg=--default-address-pool=base=...,size=24
		// and --bind paths with commas are one value each: repeat the
		// flag for more.
		DisableSliceFlagSeparator: true,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lxcpath", Usage: "LXC container directory", Value: lxc.DefaultLXCPath(), EnvVars: []string{"ARMHF_LXC_PATH"}},
		},
		Commands: []*cli.Command{
			createCommand(out),
			startCommand(out),
			stopCommand(out),
			execCommand(out),
			shellCommand(out),
			listCommand(out),
			statusCommand(out),
			destroyCommand(out),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run prints and maps errors
	}
	// A bad flag is a usage error (exit 2, one line on stderr), not a
	// help page on stdout.
	for _, c := range app.Commands {
		c.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return usageError(c, "%v", err)
		}
	}
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return usageErr{err.Error() + " (see armhf-lxc --help)"}
	}
	return app
}

// usage errors exit 2, other failures 1; exec and shell pass the command's
// status through.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usageError(c *cli.Context, format string, args ...any) error {
	return usageErr{fmt.Sprintf("%s: %s (see armhf-lxc %s --help)", c.Command.Name, fmt.Sprintf(format, args...), c.Command.Name)}
}

func run(argv []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if name := commandName(argv); name != "" && app.Command(name) == nil {
		fmt.Fprintf(stderr, "armhf-lxc: unknown command %q (see armhf-lxc --help)\n", name)
		return 2
	}
	err := app.Run(permuteArgs(app, argv))
	if err == nil {
		return 0
	}
	var ue usageErr
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "armhf-lxc: "+err.Error())
		return 2
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "armhf-lxc: "+msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "armhf-lxc: "+err.Error())
	return 1
}
