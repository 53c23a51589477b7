package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
)

func cpuinfoCommand() *cli.Command {
	return &cli.Command{
		Name:  "cpuinfo",
		Usage: "print the armv7 /proc/cpuinfo of this host (the one exec and the runtime wrapper inject)",
		// No "help" subcommand: `cpuinfo help` is an unexpected argument.
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cpus", Usage: "only these CPUs, renumbered from 0, as a list like 0-3,6 (default: the current affinity)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cli.Exit(fmt.Sprintf("cpuinfo: unexpected argument %q", c.Args().First()), 2)
			}
			var set cpuinfo.CPUSet
			if c.IsSet("cpus") {
				s := c.String("cpus")
				var err error
				if set, err = cpuinfo.ParseCPUSet(s); err != nil {
					return cli.Exit(fmt.Sprintf("cpuinfo: --cpus %q: %v", s, err), 2)
				}
			}
			data, err := cpuinfo.HostARMv7Exact(set)
			var missing *cpuinfo.MissingCPUsError
			if errors.As(err, &missing) {
				return cli.Exit(fmt.Sprintf("cpuinfo: --cpus %q: %v", c.String("cpus"), err), 2)
			}
			if err != nil {
				return cli.Exit("cpuinfo: "+err.Error(), 2)
			}
			_, err = os.Stdout.Write(data)
			return err
		},
	}
}
