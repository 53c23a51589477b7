package buildx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/dockerimage"
)

// ImageOptions say what Image builds.
type ImageOptions struct {
	From    string // the buildkit image to start from ("" = DefaultFrom)
	Tag     string // "" = DefaultTag(From)
	Wrapper string // the armhf-runc binary to put in the image
	Docker  string // the docker CLI
	// Progress receives docker build's output.
	Progress io.Writer
}

// Built is the image Image made.
type Built struct {
	Tag, ID, Platform, From string
}

// Image builds the builder image from o.From with the docker CLI's
// classic builder: it only COPYs, and takes FROM the local image, so it
// works offline and on every Docker (20.10's API included) whatever
// builder `docker build` defaults to — a docker-container builder there
// would leave the image outside the image store.
func Image(o ImageOptions) (Built, error) {
	if o.From == "" {
		o.From = DefaultFrom()
	}
	if o.Tag == "" {
		o.Tag = DefaultTag(o.From)
	}
	base, err := dockerimage.Inspect(o.Docker, o.From)
	if errors.Is(err, dockerimage.ErrNotFound) {
		return Built{}, fmt.Errorf("image %s is not in this Docker: docker pull %s (buildx's own default builder image), or give the buildkit image you have as --from", o.From, o.From)
	}
	if err != nil {
		return Built{}, err
	}
	f, err := os.Open(o.Wrapper)
	if err != nil {
		return Built{}, fmt.Errorf("the runtime wrapper for the image: %w", err)
	}
	wrapper, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return Built{}, fmt.Errorf("reading %s: %w", o.Wrapper, err)
	}
	if err := CheckWrapper(bytes.NewReader(wrapper), o.Wrapper, base.Architecture); err != nil {
		return Built{}, fmt.Errorf("image %s (%s): %w", o.From, base.Platform(), err)
	}
	ctx, err := Context(wrapper)
	if err != nil {
		return Built{}, err
	}
	cmd := exec.Command(o.Docker, BuildArgs(o.From, o.Tag)...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = bytes.NewReader(ctx)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = o.Progress, io.MultiWriter(o.Progress, &stderr)
	if err := cmd.Run(); err != nil {
		return Built{}, fmt.Errorf("docker %s: %v: %s", strings.Join(BuildArgs(o.From, o.Tag), " "), err, lastLine(stderr.String()))
	}
	im, err := dockerimage.Inspect(o.Docker, o.Tag)
	if err != nil {
		return Built{}, fmt.Errorf("the built image: %w", err)
	}
	return Built{Tag: o.Tag, ID: im.ID, Platform: im.Platform(), From: o.From}, nil
}

// BuildArgs is the docker build command line (after "docker") that builds
// tag from from, the context on stdin.
func BuildArgs(from, tag string) []string {
	return []string{"build", "--tag", tag, "--build-arg", ImageArg + "=" + from, "-"}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// ConfigFile is the file name the instructions save BuildkitdTOML as.
const ConfigFile = "armhf-buildkitd.toml"

// Instructions are the lines that make buildx builders of tag: the
// docker-container driver on this Docker, and the kubernetes driver,
// whose nodes pull the image — from a registry they reach, so a tag in
// the localhost repository is first retagged for one.
func Instructions(tag string) string {
	var b strings.Builder
	cfg := "armhf-shim buildx config > " + ConfigFile
	fmt.Fprintf(&b, "docker-container driver (a builder container on this Docker):\n")
	fmt.Fprintf(&b, "  %s\n", cfg)
	fmt.Fprintf(&b, "  docker buildx create --name armhf --driver docker-container --driver-opt image=%s --buildkitd-config %s --use\n", tag, ConfigFile)
	fmt.Fprintf(&b, "  docker buildx build --platform linux/arm/v7 ...\n")
	fmt.Fprintf(&b, "kubernetes driver (builder pods; the nodes pull the image):\n")
	k8s := tag
	if strings.HasPrefix(tag, "localhost/") {
		k8s = "REGISTRY/" + strings.TrimPrefix(tag, "localhost/")
		fmt.Fprintf(&b, "  docker tag %s %s\n", tag, k8s)
	}
	fmt.Fprintf(&b, "  docker push %s\n", k8s)
	fmt.Fprintf(&b, "  %s\n", cfg)
	fmt.Fprintf(&b, "  docker buildx create --name armhf-k8s --driver kubernetes --driver-opt image=%s,nodeselector=kubernetes.io/arch=arm64 --buildkitd-config %s --use\n", k8s, ConfigFile)
	fmt.Fprintf(&b, "The builder's buildkitd runs every RUN step through %s; a --buildkitd-config of your own needs its [worker.oci] binary = %q.\n", WrapperPath, WrapperPath)
	return b.String()
}
