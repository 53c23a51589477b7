//go:build cgo && linux

package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
)

func startCommand(out streams) *cli.Command {
	return &cli.Command{
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
			if err := out.manager(c).Start(ctx, name, lxc.StartOptions{Timeout: t, DockerTimeout: dt}); err != nil {
				return err
			}
			fmt.Fprintf(out.stderr, "started %s\n", name)
			return nil
		},
	}
}
