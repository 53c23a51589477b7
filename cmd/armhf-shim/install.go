package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/armhf-shim/armhf-shim/shim/install"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/urfave/cli/v2"
)

// installCommand is `armhf-shim install TARGET`, one subcommand for each
// of install.Targets.
func installCommand() *cli.Command { return installCmd(false) }

// uninstallCommand is `armhf-shim uninstall TARGET`.
func uninstallCommand() *cli.Command { return installCmd(true) }

func installFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "the file to edit (default: daemon.json, config.toml, hooks.d/armhf-shim.json, the docker.service drop-in, buildkitd.toml or " + install.DefaultAgentSocketUnit + ")"},
		&cli.StringFlag{Name: "runtime-name", Value: install.DefaultRuntimeName, Usage: "docker/containerd/podman-runtime/crio runtime name"},
		&cli.BoolFlag{Name: "set-as-default", Usage: "make it the default runtime (docker, containerd, podman-runtime, crio); uninstall puts the previous default back"},
		&cli.BoolFlag{Name: "replace", Usage: "docker: replace a runtime entry of that name that does not run armhf-shim; buildkitd: a runtime binary that is not runc; podman-runtime, crio: a drop-in of that path not written by armhf-shim (uninstall puts it back)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the diff, change nothing"},
		&cli.StringFlag{Name: "binary", Usage: "the armhf-shim binary to register (default: this one)"},
		&cli.StringFlag{Name: "link-dir", Usage: "buildkit: directory of the runc link (default " + install.DefaultBuildkitLinkDir + "); docker-cli: directory of the docker link (default: the standard PATH directory before the real docker's)"},
		&cli.StringFlag{Name: "socket", Usage: "seccomp-agent: the agent's socket (default: where the runtime wrapper looks, \"seccompAgent\" in its config file, else " + runtimecfg.DefaultSeccompAgent + ")"},
		&cli.StringFlag{Name: "docker", Usage: "docker-cli: the real docker CLI to front (default: the configured one, else the first docker on PATH)"},
		&cli.StringFlag{Name: "root", Usage: "where the host's root is mounted (a DaemonSet's /host): every path given or defaulted is the host's, used below it, and written as the host sees it"},
		&cli.StringFlag{Name: "containerd", Usage: "containerd: the containerd binary that reads the config, asked for its version (default: the first on PATH)"},
		&cli.StringFlag{Name: "containerd-version", Usage: "containerd: the version of the containerd that reads the config, such as 1.6.20 (default: ask --containerd)"},
		&cli.BoolFlag{Name: "ipv6", Usage: "docker: also set ipv6, fixed-cidr-v6 and ip6tables (+ experimental where this Docker needs it), so containers reach IPv6 destinations through NAT; a member set to another value is left alone and install refuses"},
		&cli.StringFlag{Name: "fixed-cidr-v6", Usage: "docker --ipv6: the default bridge's IPv6 prefix (default: the file's, else a random unique local fdXX:XXXX:XXXX::/64)"},
		&cli.StringFlag{Name: "dockerd-version", Usage: "docker --ipv6: the version of the dockerd that reads daemon.json (default: ask the running one, else dockerd on PATH)"},
	}
}

var targetUsage = map[string]string{
	"docker":         "runtimes.<name> (+ default-runtime) in daemon.json, every other byte kept (the output says how to apply it)",
	"containerd":     "a conf.d drop-in (config version 2/3) with the runtime handler, imported by config.toml",
	"podman":         "an OCI hooks.d file running `armhf-shim hook`, in the hooks_dir podman and CRI-O read",
	"podman-runtime": "a containers.conf.d drop-in registering the runtime wrapper (sets the personality, which the hook cannot)",
	"crio":           "a crio.conf.d drop-in with the runtime handler, usable by a Kubernetes RuntimeClass",
	"buildkit":       "a runc link to armhf-shim first in dockerd's PATH (systemd drop-in), for dockerd's embedded BuildKit",
	"seccomp-agent":  "a systemd socket unit and service for `armhf-shim seccomp-agent` (uname -m = armv7l in containers), on the runtime wrapper's agent socket",
	"buildkitd":      "a standalone buildkitd's buildkitd.toml (default " + install.DefaultBuildkitdConfig + "): [worker.oci] binary and the containerd worker's runc, every other byte kept",
	"docker-cli":     "a docker link to the CLI wrapper in the PATH directory before the real docker's, which is left untouched and named in /etc/armhf-shim/config.json",
}

func installCmd(uninstall bool) *cli.Command {
	name, usage := "install", "register armhf-shim with docker, containerd, podman, CRI-O, BuildKit or buildkitd, or put the docker CLI wrapper or the seccomp agent in place"
	if uninstall {
		name, usage = "uninstall", "take back what install did, as it found it"
	}
	action := func(target string) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("%s %s: unexpected arguments %q", name, target, c.Args().Slice()), 2)
			}
			// The flags are accepted before and after the target
			// (install --dry-run docker, install docker --dry-run): take
			// each from the innermost command line that set it.
			str := func(flag string) string {
				for _, x := range c.Lineage() {
					if x.IsSet(flag) {
						return x.String(flag)
					}
				}
				return c.String(flag)
			}
			boolean := func(flag string) bool {
				for _, x := range c.Lineage() {
					if x.IsSet(flag) {
						return x.Bool(flag)
					}
				}
				return false
			}
			major := 0
			if v := str("dockerd-version"); v != "" {
				n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 2)[0])
				if err != nil || n <= 0 {
					return cli.Exit(fmt.Sprintf("%s %s: --dockerd-version %q: want a version such as 20.10 or 27.5.1", name, target, v), 2)
				}
				major = n
			}
			// Only the seccomp-agent target reads the wrapper's config
			// file: another target is not refused for it.
			var sock string
			if target == "seccomp-agent" {
				var err error
				if sock, err = agentSocket(str("socket"), os.Getenv); err != nil {
					return cli.Exit(name+" "+target+": "+err.Error(), 1)
				}
			}
			err := install.Run(install.Options{
				Target:            target,
				Config:            str("config"),
				RuntimeName:       str("runtime-name"),
				SetAsDefault:      boolean("set-as-default"),
				Replace:           boolean("replace"),
				DryRun:            boolean("dry-run"),
				Uninstall:         uninstall,
				Binary:            str("binary"),
				LinkDir:           str("link-dir"),
				Docker:            str("docker"),
				AgentSocket:       sock,
				Root:              str("root"),
				Containerd:        str("containerd"),
				ContainerdVersion: str("containerd-version"),
				IPv6:              boolean("ipv6"),
				FixedCIDRv6:       str("fixed-cidr-v6"),
				DockerdMajor:      major,
				Out:               c.App.Writer,
			})
			if err != nil {
				return cli.Exit(name+" "+target+": "+err.Error(), 1)
			}
			return nil
		}
	}
	var subs []*cli.Command
	for _, t := range install.Targets {
		subs = append(subs, &cli.Command{Name: t, Usage: targetUsage[t], Flags: installFlags(), Action: action(t)})
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: strings.Join(install.Targets, "|") + " [--config PATH] [--runtime-name armhf] [--set-as-default] [--replace] [--dry-run] [--root DIR] [--ipv6 [--fixed-cidr-v6 CIDR]]",
		Description: "Idempotent; edits only what it changes (uninstall gives back the bytes install found); atomic writes\n" +
			"under a lock on the file's directory, with a backup of the previous file that is never overwritten;\n" +
			"--dry-run prints a diff; a malformed existing file is an error and stays unchanged. What install replaced\n" +
			"(a default runtime, a --replace'd entry) is noted in <file>.armhf-shim-state and put back by uninstall.\n" +
			"The output says how to apply the change.",
		Flags:       installFlags(),
		Subcommands: subs,
		Action: func(c *cli.Context) error {
			return cli.Exit(fmt.Sprintf("%s: name one target: %s", name, strings.Join(install.Targets, ", ")), 2)
		},
	}
}
