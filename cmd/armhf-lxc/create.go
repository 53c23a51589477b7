//go:build cgo && linux

package main

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
)

// nestingWarning is the security trade-off of --nesting, in the help text
// and the docs.
const nestingWarning = "SECURITY: --nesting mounts cgroups, /proc and /sys read-write, drops no capability and turns\n" +
	"AppArmor off for the container. Root in it (and any build step, Dockerfile RUN line or docker run it\n" +
	"starts) can take over the host. Use it on build hosts where the branch being built is trusted."

func createCommand(out streams) *cli.Command {
	return &cli.Command{
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
			&cli.StringFlag{Name: "shim", Usage: "armhf-shim runtime wrapper (armhf-runc or armhf-shim, static) that dockerd runs as its runc, so its containers and BuildKit RUN steps see the armv7 cpuinfo; none for none (default: armhf-runc or armhf-shim beside armhf-lxc, else on PATH)"},
			&cli.StringFlag{Name: "cpus", Usage: "restrict the container to the CPU `LIST` (e.g. 0-3); its /proc/cpuinfo shows only those"},
			&cli.StringFlag{Name: "network", Usage: "none (loopback only) or veth:BRIDGE", Value: "none"},
			&cli.StringSliceFlag{Name: "bind", Usage: "bind-mount `HOST:CONTAINER[:ro]` (repeatable; the mount point is created in the rootfs)"},
			&cli.StringFlag{Name: "machine", Usage: "what uname -m says to the container's 32-bit programs, e.g. armv7l (default: the kernel's, armv8l), answered by armhf-shim seccomp-agent through liblxc's notify proxy (docs/uname.md)"},
			&cli.StringFlag{Name: "seccomp-agent", Usage: "the seccomp agent's LXC socket for --machine (default " + agent.DefaultLXCSocket + ")"},
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
				Binds: c.StringSlice("bind"), Shim: c.String("shim"), Machine: c.String("machine"), SeccompAgent: c.String("seccomp-agent"),
			}
			if err := lxc.CheckCreateFlags(c.IsSet("debootstrap"), c.IsSet("mirror"), c.Bool("docker"), c.IsSet("docker-arg"), c.IsSet("docker-socket"), c.IsSet("shim")); err != nil {
				return usageError(c, "%v", err)
			}
			if c.IsSet("init") {
				o.Init = strings.Fields(c.String("init"))
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := out.manager(c).Create(ctx, o); err != nil {
				return err
			}
			fmt.Fprintf(out.stderr, "created %s\n", name)
			return nil
		},
	}
}
