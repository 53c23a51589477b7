//go:build cgo && linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// nestingWarning is the security trade-off of --nesting, in the help text
// and the docs.
const nestingWarning = "SECURITY: --nesting mounts cgroups, /proc and /sys read-write, drops no capability and turns\n" +
	"AppArmor off for the container. Root in it (and any build step, Dockerfile RUN line or docker run it\n" +
	"starts) can take over the host. Use it on build hosts where the branch being built is trusted."

func newApp(stdout, stderr io.Writer) *cli.App {
	mgr := func(c *cli.Context) *lxc.Manager {
		m, err := lxc.NewManager(c.String("lxcpath"), stderr)
		if err != nil {
			// Abs fails only without a working directory: keep the
			// path, and let the commands report what fails with it.
			return &lxc.Manager{LXCPath: c.String("lxcpath"), Log: stderr}
		}
		return m
	}
	nameArg := func(c *cli.Context) (string, error) {
		if c.NArg() < 1 {
			return "", usageError(c, "missing NAME")
		}
		if c.NArg() > 1 {
			return "", usageError(c, "unexpected arguments after NAME: %s", strings.Join(c.Args().Slice()[1:], " "))
		}
		return c.Args().First(), nil
	}
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
			{
				Name:      "create",
				Usage:     "define a (stopped) container from a root filesystem directory, a tarball or debootstrap",
				ArgsUsage: "NAME",
				Description: "--rootfs DIR uses the directory in place (destroy never deletes it); --rootfs TARBALL is unpacked\n" +
					"into LXCPATH/NAME/rootfs; --debootstrap SUITE builds LXCPATH/NAME/rootfs with debootstrap\n" +
					"--arch=armhf (i386 on x86_64). On any error nothing is left behind.\n\n" + nestingWarning,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "rootfs", Usage: "root filesystem: a directory or a tarball (.tar, .tar.gz, .tar.xz, .tar.zst)"},
					&cli.StringFlag{Name: "debootstrap", Usage: "build the root filesystem with debootstrap for `SUITE` (e.g. bookworm)"},
					&cli.StringFlag{Name: "mirror", Usage: "Debian mirror for --debootstrap"},
					&cli.BoolFlag{Name: "nesting", Usage: "allow dockerd/runc inside (cgroups, /proc, /sys rw; no capability dropped; AppArmor unconfined): see SECURITY"},
					&cli.BoolFlag{Name: "docker", Usage: "start the root filesystem's dockerd on start and wait for its socket (needs --nesting)"},
					&cli.StringSliceFlag{Name: "docker-arg", Usage: "extra dockerd argument (repeatable), e.g. --docker-arg=--iptables=false"},
					&cli.StringFlag{Name: "docker-socket", Usage: "dockerd's API socket in the container", Value: lxc.DefaultDockerSocket},
					&cli.StringFlag{Name: "cpus", Usage: "restrict the container to the CPU `LIST` (e.g. 0-3); its /proc/cpuinfo shows only those"},
					&cli.StringFlag{Name: "network", Usage: "none (loopback only) or veth:BRIDGE", Value: "none"},
					&cli.StringSliceFlag{Name: "bind", Usage: "bind-mount `HOST:CONTAINER[:ro]` (repeatable; the mount point is created in the rootfs)"},
					&cli.StringFlag{Name: "init", Usage: "run `CMD` as PID 1 instead of armhf-lxc's init (words split on blanks, e.g. /sbin/init)"},
				},
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					o := lxc.CreateOptions{
						Name: name, Rootfs: c.String("rootfs"), Debootstrap: c.String("debootstrap"), Mirror: c.String("mirror"),
						Nesting: c.Bool("nesting"), Docker: c.Bool("docker"), DockerArgs: c.StringSlice("docker-arg"),
						DockerSocket: c.String("docker-socket"), CPUs: c.String("cpus"), Network: c.String("network"),
						Binds: c.StringSlice("bind"),
					}
					if err := lxc.CheckCreateFlags(c.IsSet("debootstrap"), c.IsSet("mirror"), c.Bool("docker"), c.IsSet("docker-arg"), c.IsSet("docker-socket")); err != nil {
						return usageError(c, "%v", err)
					}
					if c.IsSet("init") {
						o.Init = strings.Fields(c.String("init"))
					}
					ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
					defer stop()
					if err := mgr(c).Create(ctx, o); err != nil {
						return err
					}
					fmt.Fprintf(stderr, "created %s\n", name)
					return nil
				},
			},
			{
				Name:      "start",
				Usage:     "start a container (with --docker: and its dockerd)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "timeout", Usage: "how long to wait for the container to run", Value: "30s"},
					&cli.StringFlag{Name: "docker-timeout", Usage: "how long to wait for dockerd's socket", Value: "60s"},
				},
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					t, err := parseTimeout(c.String("timeout"))
					if err != nil {
						return usageError(c, "--timeout: %v", err)
					}
					dt, err := parseTimeout(c.String("docker-timeout"))
					if err != nil {
						return usageError(c, "--docker-timeout: %v", err)
					}
					// Ctrl-C or SIGTERM while the container or its dockerd
					// comes up: Start stops the container again.
					ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
					defer stop()
					if err := mgr(c).Start(ctx, name, lxc.StartOptions{Timeout: t, DockerTimeout: dt}); err != nil {
						return err
					}
					fmt.Fprintf(stderr, "started %s\n", name)
					return nil
				},
			},
			{
				Name:      "stop",
				Usage:     "stop a container: the halt signal to its init (armhf-lxc's init passes SIGTERM to every process), SIGKILL after --timeout",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "grace period before SIGKILL (seconds or a duration such as 1m, rounded up to whole seconds; 0 kills at once)", Value: "10s"},
				},
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					t, err := parseTimeout(c.String("timeout"))
					if err != nil {
						return usageError(c, "--timeout: %v", err)
					}
					stopped, err := mgr(c).Stop(name, t)
					if err != nil {
						return err
					}
					if stopped {
						fmt.Fprintf(stderr, "stopped %s\n", name)
					} else {
						fmt.Fprintf(stderr, "%s is not running\n", name)
					}
					return nil
				},
			},
			{
				Name:      "exec",
				Usage:     "run a command in a running container; armhf-lxc exits with its status",
				ArgsUsage: "NAME -- CMD [ARG...]",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `KEY=VALUE` (repeatable); the environment is otherwise PATH, HOME and TERM"},
					&cli.StringFlag{Name: "cwd", Usage: "working directory in the container (absolute; must exist); ./CMD is found from it", Value: "/"},
				},
				Action: func(c *cli.Context) error {
					args := c.Args().Slice()
					if len(args) < 1 {
						return usageError(c, "missing NAME")
					}
					name, argv := args[0], args[1:]
					if len(argv) > 0 && argv[0] == "--" {
						argv = argv[1:]
					}
					if len(argv) == 0 {
						return usageError(c, "missing CMD: armhf-lxc exec %s -- CMD [ARG...]", name)
					}
					for _, e := range c.StringSlice("env") {
						if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
							return usageError(c, "--env %q: want KEY=VALUE", e)
						}
					}
					if cwd := c.String("cwd"); cwd != "" && !path.IsAbs(cwd) {
						return usageError(c, "--cwd %s: want an absolute path in the container", cwd)
					}
					return commandStatus(mgr(c).Exec(name, argv, lxc.ExecOptions{Env: c.StringSlice("env"), Cwd: c.String("cwd")}))
				},
			},
			{
				Name:      "shell",
				Usage:     "interactive login shell (bash if present, else sh) in a running container",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					return commandStatus(mgr(c).Shell(name))
				},
			},
			{
				Name:  "list",
				Usage: "list the containers of the lxcpath",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageError(c, "list takes no arguments")
					}
					ss, err := mgr(c).List()
					if err != nil {
						return err
					}
					if c.Bool("json") {
						if ss == nil {
							ss = []lxc.Status{}
						}
						return printJSON(stdout, ss)
					}
					printList(stdout, ss)
					return nil
				},
			},
			{
				Name:      "status",
				Usage:     "state, init pid, arch, IP addresses and options of a container",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					s, err := mgr(c).Status(name)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(stdout, s)
					}
					printStatus(stdout, s)
					return nil
				},
			},
			{
				Name:      "destroy",
				Usage:     "delete a stopped container (a --rootfs directory you supplied is never deleted)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "stop it first if it is running"}},
				Action: func(c *cli.Context) error {
					name, err := nameArg(c)
					if err != nil {
						return err
					}
					if err := mgr(c).Destroy(name, c.Bool("force")); err != nil {
						return err
					}
					fmt.Fprintf(stderr, "destroyed %s\n", name)
					return nil
				},
			},
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

// execError gives a command missing in the container the shell's exit
// status 127.
func execError(err error) error {
	var nf *lxc.CommandNotFoundError
	if errors.As(err, &nf) {
		return cli.Exit(err.Error(), 127)
	}
	return err
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

// commandName is the first argument after the global flags.
func commandName(argv []string) string {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if a == "--lxcpath" {
			i++
		}
	}
	return ""
}

// permuteArgs lets flags follow the container name, as in
// "create NAME --rootfs DIR" (urfave/cli v2 stops parsing flags at the
// first argument): the command's flags are moved before its arguments and
// global flags (--lxcpath) before the command. For exec, the first
// argument after NAME (or "--") starts the command line, whose flags are
// its own.
func permuteArgs(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	takesValue := func(flags []cli.Flag, tok string) (found, value bool) {
		name, _, hasEq := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		for _, f := range flags {
			for _, n := range f.Names() {
				if n == name {
					_, isBool := f.(*cli.BoolFlag)
					return true, !isBool && !hasEq
				}
			}
		}
		return false, false
	}
	var global []string
	i := 1
	for i < len(argv) && strings.HasPrefix(argv[i], "-") && argv[i] != "--" {
		_, v := takesValue(app.Flags, argv[i])
		global = append(global, argv[i])
		if v && i+1 < len(argv) {
			global = append(global, argv[i+1])
			i++
		}
		i++
	}
	if i >= len(argv) {
		return argv
	}
	cmd := app.Command(argv[i])
	if cmd == nil {
		return argv
	}
	var flags, pos []string
	rest := argv[i+1:]
	for j := 0; j < len(rest); j++ {
		tok := rest[j]
		if tok == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if cmd.Name == "exec" && len(pos) == 1 && !strings.HasPrefix(tok, "-") {
			pos = append(pos, rest[j:]...)
			break
		}
		if !strings.HasPrefix(tok, "-") || tok == "-" {
			pos = append(pos, tok)
			continue
		}
		dst := &flags
		found, v := takesValue(cmd.Flags, tok)
		if !found {
			if gf, gv := takesValue(app.Flags, tok); gf {
				dst, v = &global, gv
			}
		}
		*dst = append(*dst, tok)
		if v && j+1 < len(rest) {
			*dst = append(*dst, rest[j+1])
			j++
		}
	}
	out := append([]string{argv[0]}, global...)
	out = append(out, cmd.Name)
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}

// parseTimeout reads a timeout as whole seconds ("10") or a Go duration
// ("1m30s").
func parseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds nor a duration such as 1m30s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printList(w io.Writer, ss []lxc.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tARCH\tIPS\tMANAGED")
	for _, s := range ss {
		pid := "-"
		if s.PID > 0 {
			pid = strconv.Itoa(s.PID)
		}
		managed := "no"
		if s.Managed {
			managed = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, pid, orDash(s.Arch), orDash(strings.Join(s.IPs, ",")), managed)
	}
	tw.Flush()
}

func printStatus(w io.Writer, s lxc.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", s.Name)
	fmt.Fprintf(tw, "State:\t%s\n", s.State)
	if s.PID > 0 {
		fmt.Fprintf(tw, "PID:\t%d\n", s.PID)
	}
	fmt.Fprintf(tw, "Arch:\t%s\n", orDash(s.Arch))
	if s.Machine != "" {
		fmt.Fprintf(tw, "Machine:\t%s\n", s.Machine)
	}
	if s.State == "RUNNING" {
		fmt.Fprintf(tw, "IPs:\t%s\n", orDash(strings.Join(s.IPs, " ")))
	}
	if s.Managed {
		owner := "yours: destroy keeps it"
		if s.OwnsRootfs {
			owner = "unpacked by armhf-lxc: destroy deletes it"
		}
		fmt.Fprintf(tw, "Rootfs:\t%s (%s)\n", s.Rootfs, owner)
		fmt.Fprintf(tw, "Network:\t%s\n", s.Network)
		fmt.Fprintf(tw, "CPUs:\t%s\n", orDash(s.CPUs))
		fmt.Fprintf(tw, "Nesting:\t%t\n", s.Nesting)
		fmt.Fprintf(tw, "Docker:\t%t\n", s.Docker)
		if s.DockerSocket != "" {
			fmt.Fprintf(tw, "Docker socket:\t%s\n", s.DockerSocket)
		}
	} else {
		fmt.Fprintf(tw, "Managed:\tno (not created by armhf-lxc)\n")
	}
	tw.Flush()
}

// commandStatus passes the exit status of a command run in the container
// through as armhf-lxc's own.
func commandStatus(code int, err error) error {
	if err != nil {
		return execError(err)
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}
