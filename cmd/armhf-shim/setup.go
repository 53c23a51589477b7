package main

import (
	"github.com/armhf-shim/armhf-shim/internal/setup"
	"github.com/urfave/cli/v2"
)

// setupCommand is `armhf-shim setup [--dry-run] [--restart] [--undo]`.
func setupCommand() *cli.Command {
	return &cli.Command{
		Name:  "setup",
		Usage: "register armhf-shim with every container engine on this host, then check each route (doctor)",
		Description: "Detects dockerd, containerd, CRI-O, a standalone buildkitd, podman and buildx builders and runs the\n" +
			"matching install targets (docker, buildkit, containerd, crio, buildkitd, podman, podman-runtime), with\n" +
			"every guarantee of install (other bytes kept, backups, a record). dockerd is reloaded (SIGHUP: nothing\n" +
			"stops); an engine that needs a restart is named, and restarted with --restart (systemctl, when systemd\n" +
			"runs the host). Then doctor judges each route: exit 1 if one does not work. What setup changed is\n" +
			"recorded in " + setup.DefaultState + "; setup --undo uninstalls exactly that.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show the diffs and what would be reloaded or restarted; change nothing"},
			&cli.BoolFlag{Name: "restart", Usage: "restart the engines that need it (containerd, CRI-O, buildkitd, docker.service for docker build)"},
			&cli.BoolFlag{Name: "undo", Usage: "uninstall what setup recorded, newest first"},
			&cli.StringFlag{Name: "state", Value: setup.DefaultState, Usage: "the record of what setup changed"},
			&cli.StringFlag{Name: "binary", Usage: "the armhf-shim binary to register (default: this one)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("setup: unexpected arguments", 2)
			}
			o := setup.Options{
				DryRun:  c.Bool("dry-run"),
				Restart: c.Bool("restart"),
				State:   c.String("state"),
				Binary:  c.String("binary"),
				Out:     c.App.Writer,
			}
			f := setup.Gather(setup.GatherOptions{})
			run := setup.Run
			if c.Bool("undo") {
				run = setup.Undo
			}
			code, err := run(o, f)
			if err != nil {
				return cli.Exit("setup: "+err.Error(), code)
			}
			if code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}
