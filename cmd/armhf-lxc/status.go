//go:build cgo && linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/lxc"
)

func statusCommand(out streams) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "state, init pid, arch, IP addresses and options of a container",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			s, err := out.manager(c).Status(name)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(out.stdout, s)
			}
			printStatus(out.stdout, s)
			return nil
		},
	}
}

func listCommand(out streams) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the containers of the lxcpath",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(c, "list takes no arguments")
			}
			ss, err := out.manager(c).List()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if ss == nil {
					ss = []lxc.Status{}
				}
				return printJSON(out.stdout, ss)
			}
			printList(out.stdout, ss)
			return nil
		},
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printList(w io.Writer, ss []lxc.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tARCH\tIPS\tMANAGED")
	for _, s := range ss {
		pid := "-"
		if s.PID > 0 {
			pid = strconv.Itoa(s.PID)
		}
		managed := "no"
		if s.Managed {
			managed = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, pid, orDash(s.Arch), orDash(strings.Join(s.IPs, ",")), managed)
	}
	tw.Flush()
}

func printStatus(w io.Writer, s lxc.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", s.Name)
	fmt.Fprintf(tw, "State:\t%s\n", s.State)
	if s.PID > 0 {
		fmt.Fprintf(tw, "PID:\t%d\n", s.PID)
	}
	fmt.Fprintf(tw, "Arch:\t%s\n", orDash(s.Arch))
	switch {
	case s.SeccompAgent != "":
		fmt.Fprintf(tw, "Machine:\t%s (32-bit programs; answered by armhf-shim seccomp-agent on %s)\n", s.Machine, s.SeccompAgent)
	case s.Machine != "":
		fmt.Fprintf(tw, "Machine:\t%s\n", s.Machine)
	}
	if s.State == "RUNNING" {
		fmt.Fprintf(tw, "IPs:\t%s\n", orDash(strings.Join(s.IPs, " ")))
	}
	if s.Managed {
		owner := "yours: destroy keeps it"
		if s.OwnsRootfs {
			owner = "unpacked by armhf-lxc: destroy deletes it"
		}
		fmt.Fprintf(tw, "Rootfs:\t%s (%s)\n", s.Rootfs, owner)
		fmt.Fprintf(tw, "Network:\t%s\n", s.Network)
		fmt.Fprintf(tw, "CPUs:\t%s\n", orDash(s.CPUs))
		fmt.Fprintf(tw, "Nesting:\t%t\n", s.Nesting)
		fmt.Fprintf(tw, "Docker:\t%t\n", s.Docker)
		if s.DockerSocket != "" {
			fmt.Fprintf(tw, "Docker socket:\t%s\n", s.DockerSocket)
		}
		if s.Docker {
			fmt.Fprintf(tw, "Runtime wrapper:\t%s\n", orDash(s.Shim))
		}
	} else {
		fmt.Fprintf(tw, "Managed:\tno (not created by armhf-lxc)\n")
	}
	tw.Flush()
}
