package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
)

// writeNFD writes the report's node labels where node-feature-discovery
// reads them, atomically: nfd-worker may read the directory at any time.
func writeNFD(path string, r *doctor.Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("node labels: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, doctor.NFDFeatures(r.NodeLabels()), 0o644); err != nil {
		return fmt.Errorf("node labels: %w", err)
	}
	return nil
}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "can this host build armhf natively, and which routes are installed and active? (exit 0 yes, 1 no, 2 error)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON (schema: docs/doctor.md)"},
			&cli.StringFlag{Name: "daemon-json", Usage: "judge the docker route by this daemon.json and the dockerds that read it (default /etc/docker/daemon.json)"},
			&cli.StringFlag{Name: "containerd-config", Usage: "containerd's config.toml (default /etc/containerd/config.toml)"},
			&cli.StringFlag{Name: "buildkitd-config", Usage: "a standalone buildkitd's buildkitd.toml (default /etc/buildkit/buildkitd.toml; running buildkitds are judged by their own)"},
			&cli.StringFlag{Name: "dind-dir", EnvVars: []string{"ARMHF_SHIM_DIND_DIR"}, Usage: "the 32-bit dockerd's state directory (default /var/lib/armhf-shim/dind)"},
			&cli.StringFlag{Name: "nfd", Usage: "also write the node's labels for node-feature-discovery to this file (e.g. " + doctor.NFDFile + ")"},
			// The variable armhf-lxc reads too: doctor then sees the containers armhf-lxc made.
			&cli.StringFlag{Name: "lxcpath", EnvVars: []string{"ARMHF_LXC_PATH"}, Usage: "where armhf-lxc's containers are (default: lxc.conf's lxc.lxcpath, else /var/lib/lxc)"},
		},
		Action: func(c *cli.Context) error {
			r, err := doctor.Diagnose(doctor.Options{
				DaemonJSON:       c.String("daemon-json"),
				ContainerdConfig: c.String("containerd-config"),
				BuildkitdConfig:  c.String("buildkitd-config"),
				DindDir:          c.String("dind-dir"),
				LXCPath:          c.String("lxcpath"),
			})
			if err != nil {
				return cli.Exit("doctor: "+err.Error(), 2)
			}
			if f := c.String("nfd"); f != "" {
				if err := writeNFD(f, r); err != nil {
					return cli.Exit("doctor: "+err.Error(), 2)
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return cli.Exit(err.Error(), 2)
				}
			} else {
				r.Print(os.Stdout)
			}
			if r.ExitCode != 0 {
				return cli.Exit("", r.ExitCode)
			}
			return nil
		},
	}
}
