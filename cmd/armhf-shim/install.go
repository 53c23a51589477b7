package main

import (
	"fmt"
	"strings"

	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/urfave/cli/v2"
)

// installCommand is `armhf-shim install docker|containerd|podman|buildkit`.
func installCommand() *cli.Command { return installCmd(false) }

// uninstallCommand is `armhf-shim uninstall docker|containerd|podman|buildkit`.
func uninstallCommand() *cli.Command { return installCmd(true) }

func installCmd(uninstall bool) *cli.Command {
	name, usage := "install", "register armhf-shim with docker, containerd, podman/CRI-O or dockerd's BuildKit"
	if uninstall {
		name, usage = "uninstall", "take armhf-shim out of docker, containerd, podman/CRI-O or dockerd's BuildKit again"
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: strings.Join(install.Targets, "|"),
		Description: "docker:     runtimes.<name> (+ default-runtime) in daemon.json, every other key kept (apply: SIGHUP dockerd)\n" +
			"containerd: a conf.d drop-in (config version 2/3) with the runtime handler, imported by config.toml\n" +
			"podman:     an OCI hooks.d file running `armhf-shim hook` (podman and CRI-O)\n" +
			"buildkit:   a runc link to armhf-shim first in dockerd's PATH (systemd drop-in)\n" +
			"Idempotent; atomic writes with a timestamped backup; --dry-run prints a diff; a malformed file is left unchanged.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "the file to edit (default: daemon.json, config.toml, hooks.d/armhf-shim.json or the docker.service drop-in)"},
			&cli.StringFlag{Name: "runtime-name", Value: install.DefaultRuntimeName, Usage: "docker/containerd runtime name"},
			&cli.BoolFlag{Name: "set-as-default", Usage: "make it the default runtime (docker, containerd)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff, change nothing"},
			&cli.StringFlag{Name: "binary", Usage: "the armhf-shim binary to register (default: this one)"},
			&cli.StringFlag{Name: "link-dir", Usage: "buildkit: directory of the runc link (default " + install.DefaultBuildkitLinkDir + ")"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit(fmt.Sprintf("%s: name one target: %s", name, strings.Join(install.Targets, ", ")), 2)
			}
			err := install.Run(install.Options{
				Target:       c.Args().First(),
				Config:       c.String("config"),
				RuntimeName:  c.String("runtime-name"),
				SetAsDefault: c.Bool("set-as-default"),
				DryRun:       c.Bool("dry-run"),
				Uninstall:    uninstall,
				Binary:       c.String("binary"),
				LinkDir:      c.String("link-dir"),
				Out:          c.App.Writer,
			})
			if err != nil {
				return cli.Exit(name+" "+c.Args().First()+": "+err.Error(), 1)
			}
			return nil
		},
	}
}
