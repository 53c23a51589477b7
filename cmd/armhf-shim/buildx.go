package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/armhf-shim/armhf-shim/buildx"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

func buildxCommand() *cli.Command {
	return &cli.Command{
		Name:  "buildx",
		Usage: "docker buildx builders (docker-container, kubernetes drivers) whose RUN steps go through the runtime wrapper",
		Subcommands: []*cli.Command{
			{
				Name:  "image",
				Usage: "build the builder image: a buildkit image with the static armhf-runc as its OCI worker's binary",
				Description: "Builds, with this Docker's classic builder (offline: FROM is the local image), the recipe of\n" +
					"buildx/Dockerfile from --from, and prints the docker buildx create lines that use it.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from", Value: buildx.DefaultFrom(), Usage: "the buildkit image to start from (one this Docker has)"},
					&cli.StringFlag{Name: "tag", Usage: "the built image's tag (default: " + buildx.TagRepo + ":<--from's tag>)"},
					&cli.StringFlag{Name: "runtime-binary", Usage: "the static armhf-runc for the image's architecture (default: armhf-runc beside armhf-shim, else armhf-shim itself)"},
				},
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return cli.Exit(fmt.Sprintf("buildx image: unexpected arguments %q", c.Args().Slice()), 2)
					}
					docker, err := exec.LookPath("docker")
					if err != nil {
						return cli.Exit("buildx image: the image is built by the host's Docker, but there is no docker CLI on PATH: "+err.Error(), 1)
					}
					wrapper := c.String("runtime-binary")
					if wrapper == "" {
						if wrapper, err = defaultWrapper(); err != nil {
							return cli.Exit("buildx image: "+err.Error(), 1)
						}
					}
					b, err := buildx.Image(buildx.ImageOptions{
						From: c.String("from"), Tag: c.String("tag"), Wrapper: wrapper, Docker: docker, Progress: os.Stderr,
					})
					if err != nil {
						return cli.Exit("buildx image: "+err.Error(), 1)
					}
					fmt.Printf("built %s (%s, %s) from %s with %s as %s\n\n", b.Tag, b.ID, b.Platform, b.From, wrapper, buildx.WrapperPath)
					fmt.Print(buildx.Instructions(b.Tag))
					return nil
				},
			},
			{
				Name:  "config",
				Usage: "print the builder image's buildkitd.toml, for docker buildx create --buildkitd-config",
				Action: func(c *cli.Context) error {
					_, err := os.Stdout.Write(buildx.BuildkitdTOML)
					return err
				},
			},
		},
	}
}

// defaultWrapper is the armhf-runc beside this binary (make build ships
// the lean one), else this binary, which runs the wrapper when called
// armhf-runc — the name it gets in the image.
func defaultWrapper() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(exe), install.RuntimeLinkName)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	return exe, nil
}
