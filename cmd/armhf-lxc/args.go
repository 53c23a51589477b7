//go:build cgo && linux

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// nameArg is the one NAME argument of a command on a container.
func nameArg(c *cli.Context) (string, error) {
	if c.NArg() < 1 {
		return "", usageError(c, "missing NAME")
	}
	if c.NArg() > 1 {
		return "", usageError(c, "unexpected arguments after NAME: %s", strings.Join(c.Args().Slice()[1:], " "))
	}
	return c.Args().First(), nil
}

// parseTimeout reads a timeout as whole seconds ("10") or a Go duration
// ("1m30s").
func parseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds nor a duration such as 1m30s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// commandName is the first argument after the global flags.
func commandName(argv []string) string {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if a == "--lxcpath" {
			i++
		}
	}
	return ""
}

// permuteArgs lets flags follow the container name, as in
// "create NAME --rootfs DIR" (urfave/cli v2 stops parsing flags at the
// first argument): the command's flags are moved before its arguments and
// global flags (--lxcpath) before the command. For exec, the first
// argument after NAME (or "--") starts the command line, whose flags are
// its own.
func permuteArgs(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	takesValue := func(flags []cli.Flag, tok string) (found, value bool) {
		name, _, hasEq := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		for _, f := range flags {
			for _, n := range f.Names() {
				if n == name {
					_, isBool := f.(*cli.BoolFlag)
					return true, !isBool && !hasEq
				}
			}
		}
		return false, false
	}
	var global []string
	i := 1
	for i < len(argv) && strings.HasPrefix(argv[i], "-") && argv[i] != "--" {
		_, v := takesValue(app.Flags, argv[i])
		global = append(global, argv[i])
		if v && i+1 < len(argv) {
			global = append(global, argv[i+1])
			i++
		}
		i++
	}
	if i >= len(argv) {
		return argv
	}
	cmd := app.Command(argv[i])
	if cmd == nil {
		return argv
	}
	var flags, pos []string
	rest := argv[i+1:]
	for j := 0; j < len(rest); j++ {
		tok := rest[j]
		if tok == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if cmd.Name == "exec" && len(pos) == 1 && !strings.HasPrefix(tok, "-") {
			pos = append(pos, rest[j:]...)
			break
		}
		if !strings.HasPrefix(tok, "-") || tok == "-" {
			pos = append(pos, tok)
			continue
		}
		dst := &flags
		found, v := takesValue(cmd.Flags, tok)
		if !found {
			if gf, gv := takesValue(app.Flags, tok); gf {
				dst, v = &global, gv
			}
		}
		*dst = append(*dst, tok)
		if v && j+1 < len(rest) {
			*dst = append(*dst, rest[j+1])
			j++
		}
	}
	out := append([]string{argv[0]}, global...)
	out = append(out, cmd.Name)
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}
