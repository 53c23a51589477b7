//go:build cgo && linux

package main

import (
	"errors"
	"path"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
)

func execCommand(out streams) *cli.Command {
	return &cli.Command{
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
			return commandStatus(out.manager(c).Exec(name, argv, lxc.ExecOptions{Env: c.StringSlice("env"), Cwd: c.String("cwd")}))
		},
	}
}

func shellCommand(out streams) *cli.Command {
	return &cli.Command{
		Name:      "shell",
		Usage:     "interactive login shell (bash if present, else sh) in a running container",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			return commandStatus(out.manager(c).Shell(name))
		},
	}
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
