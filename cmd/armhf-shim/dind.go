package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/dind"
	"github.com/armhf-shim/armhf-shim/uname/notify"
)

func dindCommand() *cli.Command {
	dirFlag := &cli.StringFlag{
		Name:    "dir",
		Usage:   "state directory: the unpacked daemon, its data, socket, pidfile and log",
		Value:   dind.DefaultDir,
		EnvVars: []string{"ARMHF_SHIM_DIND_DIR"},
	}
	layout := func(c *cli.Context) (dind.Layout, error) {
		l, err := dind.NewLayout(c.String("dir"))
		if err != nil {
			return l, cli.Exit("dind: "+err.Error(), 2)
		}
		return l, nil
	}
	return &cli.Command{
		Name:  "dind",
		Usage: "run a dockerd in the 32-bit world (LINUX32 personality, armv7 cpuinfo), so Docker itself picks linux/arm/v7",
		Description: "Unpacks a docker:dind armhf root filesystem, image (OCI layout or docker save archive) or Docker's\n" +
			"static binaries tgz under --dir and runs its dockerd through `armhf-shim exec`, with its own data root,\n" +
			"exec root, socket, pidfile and log, and the armhf-shim runtime wrapper as its default runtime.\n" +
			"Point a docker client at it with: eval \"$(armhf-shim dind env)\".",
		Subcommands: []*cli.Command{
			{
				Name:      "start",
				Usage:     "unpack the input (if given) and start the daemon; returns once it answers /_ping",
				ArgsUsage: "[-- DOCKERD-ARG...]",
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "input", Aliases: []string{"i"}, EnvVars: []string{"ARMHF_SHIM_DIND_INPUT"},
						Usage: "docker:dind armhf rootfs (directory or tarball), OCI layout or docker save archive, or static binaries tgz (default: what an earlier start unpacked)"},
					&cli.StringFlag{Name: "from-image", Usage: "take the input from the host's Docker (docker save of IMAGE, e.g. docker:dind pulled with --platform linux/arm/v7) instead of --input"},
					&cli.StringFlag{Name: "platform", Value: "linux/arm/v7", Usage: "image to take from a multi-platform OCI index"},
					&cli.StringFlag{Name: "network", Value: dind.NetworkPrivate,
						Usage: "private: a network namespace of its own (its bridge, iptables chains and published ports stay there; NAT to the host); host: the host's, only with -- --iptables=false --bridge=none"},
					&cli.BoolFlag{Name: "runtime", Value: true, Usage: "make the armhf-shim runtime wrapper dockerd's default runtime and its runc (--runtime=false: Docker's own runc)"},
					&cli.StringFlag{Name: "machine", Usage: "what uname -m says to the daemon's 32-bit programs and its containers, e.g. armv7l (default: the kernel's, armv8l; docs/uname.md)"},
					&cli.DurationFlag{Name: "timeout", Value: dindStartTimeout, Usage: "how long to wait for the daemon to answer"},
				},
				Action: func(c *cli.Context) error {
					l, err := layout(c)
					if err != nil {
						return err
					}
					args := c.Args().Slice()
					if len(args) > 0 && args[0] == "--" {
						args = args[1:]
					}
					if m := c.String("machine"); c.IsSet("machine") {
						if err := notify.CheckMachine(m); err != nil {
							return cli.Exit("dind start: --machine: "+err.Error(), 2)
						}
					}
					if c.String("input") != "" && c.String("from-image") != "" {
						return cli.Exit("dind start: give --input or --from-image, not both", 2)
					}
					st, err := dind.Start(l, dind.Options{
						Input: c.String("input"), FromImage: c.String("from-image"),
						Platform: c.String("platform"), Runtime: c.Bool("runtime"), Network: c.String("network"), Machine: c.String("machine"),
						DockerdArgs: args, Timeout: c.Duration("timeout"), Out: os.Stderr,
					})
					if errors.Is(err, dind.ErrAlreadyRunning) {
						fmt.Fprintln(os.Stderr, "armhf-shim: "+err.Error())
						return nil
					}
					if err != nil {
						return cli.Exit("dind start: "+err.Error(), 1)
					}
					fmt.Print(st.Format())
					return nil
				},
			},
			{
				Name:  "stop",
				Usage: "stop the daemon (SIGTERM, then SIGKILL after --timeout) and clean up its processes, mounts, network, pidfile and socket",
				Flags: []cli.Flag{
					dirFlag,
					&cli.DurationFlag{Name: "timeout", Value: dindStopTimeout, Usage: "how long dockerd gets to stop its containers before SIGKILL"},
				},
				Action: func(c *cli.Context) error {
					l, err := layout(c)
					if err != nil {
						return err
					}
					was, err := dind.Stop(l, c.Duration("timeout"), os.Stderr)
					if err != nil {
						return cli.Exit("dind stop: "+err.Error(), 1)
					}
					if !was {
						fmt.Fprintf(os.Stderr, "armhf-shim: dind in %s is not running\n", l.Dir)
					}
					return nil
				},
			},
			{
				Name:  "status",
				Usage: "is the daemon running? pid, socket, version and the architecture Docker reports (exit 3 when stopped)",
				Flags: []cli.Flag{dirFlag, &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error {
					l, err := layout(c)
					if err != nil {
						return err
					}
					st := dind.GetStatus(l)
					if c.Bool("json") {
						b, _ := json.MarshalIndent(st, "", "  ")
						fmt.Println(string(b))
					} else {
						fmt.Print(st.Format())
					}
					if !st.Running {
						return cli.Exit("", 3)
					}
					return nil
				},
			},
			{
				Name:  "env",
				Usage: "print the shell line that points docker at the daemon: eval \"$(armhf-shim dind env)\"",
				Flags: []cli.Flag{dirFlag},
				Action: func(c *cli.Context) error {
					l, err := layout(c)
					if err != nil {
						return err
					}
					if st := dind.GetStatus(l); !st.Running {
						fmt.Fprintf(os.Stderr, "armhf-shim: note: dind in %s is not running (armhf-shim dind start)\n", l.Dir)
					}
					fmt.Println(l.Env())
					return nil
				},
			},
		},
	}
}

const (
	dindStartTimeout = 60 * time.Second
	dindStopTimeout  = 30 * time.Second
)
