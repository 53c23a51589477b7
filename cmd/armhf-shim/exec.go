package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/run32"
	"github.com/armhf-shim/armhf-shim/uname"
	"github.com/armhf-shim/armhf-shim/uname/notify"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command as on a native armv7 machine (LINUX32 personality + armv7 /proc/cpuinfo)",
		ArgsUsage: "[--] CMD [ARG...]",
		// No "help" subcommand: CMD may be a program named help or h.
		HideHelpCommand: true,
		Description: "Runs CMD in the LINUX32 personality (uname -m: armv8l on arm64, i686 on x86_64) and, in a\n" +
			"private mount namespace, with the armv7 cpuinfo bind-mounted read-only over /proc/cpuinfo.\n" +
			"The host's /proc/cpuinfo is untouched and nothing is left behind. armhf-shim replaces itself\n" +
			"with CMD: exit status, signals, stdin/stdout and the terminal are CMD's own. Without root a\n" +
			"user namespace is used; as root without CAP_SYS_ADMIN, or where no namespace is allowed, only\n" +
			"the personality is set (with a warning).\n" +
			"With --chroot DIR, CMD runs in the root filesystem DIR (looked up in it, from --cwd or /),\n" +
			"with /proc (the armv7 cpuinfo over its cpuinfo), /sys and /dev mounted in DIR in the private\n" +
			"namespace only, as sbuild and pbuilder do; nothing is left mounted afterwards.\n" +
			"With --machine NAME, uname(2) of 32-bit programs reports NAME (e.g. armv7l) as the machine:\n" +
			"armhf-shim stays as CMD's parent and answers those calls through seccomp user notification\n" +
			"(Linux 5.0 or later); 64-bit programs and every other system call are untouched.\n" +
			"A CMD that is not found exits 127, like a shell.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cpus", Usage: "CPUs to show and run on, as a list like 0-3,6 (default: the current affinity)"},
			&cli.StringFlag{Name: "cpuinfo", Usage: "bind this file over /proc/cpuinfo instead of the rendered armv7 view"},
			&cli.BoolFlag{Name: "no-cpuinfo", Usage: "set the personality only; leave /proc/cpuinfo alone"},
			&cli.StringFlag{Name: "chroot", Usage: "run CMD in this root filesystem, with /proc, /sys and /dev mounted in it for CMD only"},
			&cli.StringFlag{Name: "cwd", Usage: "with --chroot: the working directory inside it (default: /)"},
			// dind's: dockerd must not find the host containerd's socket (docs/docker.md).
			&cli.StringSliceFlag{Name: "hide", Hidden: true, Usage: "cover this directory with an empty tmpfs in the private mount namespace"},
			&cli.StringFlag{Name: "machine", Usage: "what uname -m says to 32-bit programs, e.g. armv7l (default: the kernel's, armv8l)"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			if len(args) == 0 {
				return cli.Exit("exec: no command given; usage: armhf-shim exec [--cpus LIST] [--cpuinfo FILE] [--chroot DIR [--cwd DIR]] [--machine NAME] -- CMD [ARG...]", 2)
			}
			return execMain(c, args)
		},
	}
}

func execMain(c *cli.Context, args []string) error {
	var opts run32.Options
	if c.IsSet("chroot") {
		dir := c.String("chroot")
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			var pe *os.PathError
			switch {
			case err == nil:
				err = errors.New("not a directory")
			case errors.As(err, &pe):
				err = pe.Err // the path is named already
			}
			return cli.Exit(fmt.Sprintf("exec: --chroot %q: %v", dir, err), 2)
		}
		opts.Chroot, opts.Dir = dir, c.String("cwd")
	} else if c.IsSet("cwd") {
		return cli.Exit("exec: --cwd is for --chroot; without it, change directory before exec", 2)
	}
	if c.IsSet("machine") {
		opts.Machine = c.String("machine")
		if err := notify.CheckMachine(opts.Machine); err != nil {
			return cli.Exit("exec: --machine: "+err.Error(), 2)
		}
	}
	var set cpuinfo.CPUSet
	if c.IsSet("cpus") {
		s := c.String("cpus")
		var err error
		if set, err = cpuinfo.ParseCPUSet(s); err != nil {
			return cli.Exit(fmt.Sprintf("exec: --cpus %q: %v", s, err), 2)
		}
		opts.CPUs = set.List()
	}
	switch {
	case c.Bool("no-cpuinfo"):
	case c.String("cpuinfo") != "":
		data, err := os.ReadFile(c.String("cpuinfo"))
		if err != nil {
			return cli.Exit(fmt.Sprintf("exec: --cpuinfo: %v", err), 2)
		}
		if len(data) == 0 {
			return cli.Exit(fmt.Sprintf("exec: --cpuinfo %s is empty", c.String("cpuinfo")), 2)
		}
		opts.CPUInfo = data
	default:
		data, err := cpuinfo.HostARMv7Exact(set)
		var missing *cpuinfo.MissingCPUsError
		if errors.As(err, &missing) {
			return cli.Exit(fmt.Sprintf("exec: --cpus %q: %v", c.String("cpus"), err), 2)
		}
		if err != nil {
			return cli.Exit(fmt.Sprintf("exec: rendering the armv7 cpuinfo: %v (use --cpuinfo FILE or --no-cpuinfo)", err), 2)
		}
		opts.CPUInfo = data
	}
	if hide := c.StringSlice("hide"); len(hide) > 0 {
		if opts.Chroot != "" || c.Bool("no-cpuinfo") {
			return cli.Exit("exec: --hide needs the private mount namespace: not with --chroot or --no-cpuinfo", 2)
		}
		opts.Hide = hide
	}
	opts.Warn = func(msg string) { fmt.Fprintln(os.Stderr, "armhf-shim: warning: "+msg) }

	return execError(c, run32.Exec(args[0], args, os.Environ(), opts))
}

// execError maps a failed exec to the message and status a user expects.
func execError(c *cli.Context, err error) error {
	var nf *run32.NotFoundError
	if errors.As(err, &nf) {
		return cli.Exit(nf.Error(), nf.Code)
	}
	var ae *run32.AffinityError
	if errors.As(err, &ae) {
		return cli.Exit(fmt.Sprintf("exec: --cpus %q: %v", c.String("cpus"), err), 2)
	}
	var nc *uname.NoCompatError
	if errors.As(err, &nc) {
		return cli.Exit(fmt.Sprintf("%v (CPU: %s)", nc, hostCPUName()), 1)
	}
	return cli.Exit("exec: "+err.Error(), 1)
}

// hostCPUName names the host CPU from its /proc/cpuinfo, or says why not.
func hostCPUName() string {
	data, err := os.ReadFile(cpuinfo.ProcCPUInfo)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	info, err := cpuinfo.Parse(data)
	if err != nil {
		return "unknown (" + cpuinfo.ProcCPUInfo + ": " + err.Error() + ")"
	}
	return info.CPUName()
}
