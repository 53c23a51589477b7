//go:build cgo && linux

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func stopCommand(out streams) *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop a container: the halt signal to its init (armhf-lxc's init passes SIGTERM to dockerd first, then to every process), SIGKILL after --timeout",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "grace period before SIGKILL (seconds or a duration such as 1m, rounded up to whole seconds; 0 kills at once)", Value: "30s"},
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
			stopped, err := out.manager(c).Stop(name, t)
			if err != nil {
				return err
			}
			if stopped {
				fmt.Fprintf(out.stderr, "stopped %s\n", name)
			} else {
				fmt.Fprintf(out.stderr, "%s is not running\n", name)
			}
			return nil
		},
	}
}
