//go:build cgo && linux

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func destroyCommand(out streams) *cli.Command {
	return &cli.Command{
		Name:      "destroy",
		Usage:     "delete a stopped container (a --rootfs directory you supplied is never deleted)",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "stop it first if it is running"}},
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			if err := out.manager(c).Destroy(name, c.Bool("force")); err != nil {
				return err
			}
			fmt.Fprintf(out.stderr, "destroyed %s\n", name)
			return nil
		},
	}
}
