package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/kubenode"
)

// nodeInstallCommand is `armhf-shim node-install`: the Kubernetes
// DaemonSet's installer (deploy/kubernetes, docs/fleet.md).
func nodeInstallCommand() *cli.Command {
	return &cli.Command{
		Name:  "node-install",
		Usage: "Kubernetes node installer (the DaemonSet's): copy the binaries onto the node mounted at --root, register the containerd handler, restart containerd, write the node labels; only the labels (aarch32=false) on a node that cannot run armhf natively",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/", Usage: "where the node's / is mounted in this container"},
			&cli.BoolFlag{Name: "undo", Usage: "take it all out again: the containerd handler (restarting containerd), the binaries, the labels"},
			&cli.StringFlag{Name: "restart", Value: kubenode.RestartSystemd, Usage: "how containerd reads a changed configuration: systemd (systemctl restart containerd in the node's root), signal (SIGTERM to the socket's owner, needs hostPID and a unit with Restart=always), none"},
			&cli.StringFlag{Name: "bin-dir", Value: kubenode.DefaultBinDir, Usage: "the node's directory for the binaries"},
			&cli.StringFlag{Name: "source", Usage: "the directory the binaries are copied from (default: this executable's)"},
			&cli.StringFlag{Name: "containerd-config", Value: kubenode.DefaultContainerdConfig, Usage: "the node's containerd config.toml"},
			&cli.StringFlag{Name: "containerd-version", Usage: "the node's containerd version (default: ask the node's containerd, run in its root)"},
			&cli.StringFlag{Name: "socket", Value: kubenode.DefaultSocket, Usage: "the node's containerd socket (--restart signal)"},
			&cli.StringFlag{Name: "runtime-name", Value: "armhf", Usage: "the containerd handler (the RuntimeClass's handler)"},
			&cli.StringFlag{Name: "nfd-file", Usage: "the node's node-feature-discovery feature file (default /etc/kubernetes/node-feature-discovery/features.d/armhf-shim)"},
			&cli.BoolFlag{Name: "stay", Usage: "after success, wait for SIGTERM (a DaemonSet's container must keep running)"},
			&cli.BoolFlag{Name: "pause", Usage: "do nothing, wait for SIGTERM: the DaemonSet's main container, once its init container did the work"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("node-install: unexpected arguments %q", c.Args().Slice()), 2)
			}
			// Registered before the work, so a SIGTERM during it is
			// not lost while --stay waits.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			if c.Bool("pause") {
				<-sig
				return nil
			}
			err := kubenode.Run(kubenode.Options{
				Root:              c.String("root"),
				BinDir:            c.String("bin-dir"),
				Source:            c.String("source"),
				ContainerdConfig:  c.String("containerd-config"),
				ContainerdVersion: c.String("containerd-version"),
				RuntimeName:       c.String("runtime-name"),
				Restart:           c.String("restart"),
				Socket:            c.String("socket"),
				NFDFile:           c.String("nfd-file"),
				Undo:              c.Bool("undo"),
				Out:               c.App.Writer,
			})
			if err != nil {
				return cli.Exit("node-install: "+err.Error(), 1)
			}
			fmt.Fprintln(c.App.Writer, "node-install: done")
			if c.Bool("stay") {
				<-sig
			}
			return nil
		},
	}
}
