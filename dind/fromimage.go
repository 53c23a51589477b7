package dind

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/dockerimage"
)

// source names where the daemon to start comes from, and whether o names
// one at all (without, the unpacked one is reused).
func (o Options) source() (string, bool) {
	switch {
	case o.FromImage != "":
		return "image " + o.FromImage, true
	case o.Input != "":
		in, _ := filepath.Abs(o.Input)
		return in, true
	}
	return "", false
}

// source names where the unpacked daemon came from.
func (s State) source() string {
	if s.FromImage != "" {
		return "image " + s.FromImage
	}
	return s.Input
}

// Platforms32 are the image platforms of a 32-bit dockerd.
var Platforms32 = []string{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5", "linux/arm", "linux/386"}

// prepareFromImage takes o.FromImage from the host's Docker — the docker
// CLI on PATH with the caller's environment, an image the user pulled,
// e.g. `docker pull --platform linux/arm/v7 docker:dind` — with
// `docker save` into a temporary archive under l.Dir, unpacks it as an
// input and removes the archive. The same image ID is not unpacked twice.
func prepareFromImage(l Layout, o Options, state *State, out io.Writer) error {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("--from-image takes the image from the host's Docker, but there is no docker CLI on PATH (%v); `docker save` it elsewhere and give the archive as --input", err)
	}
	id, platform, err := inspectImage(docker, o.FromImage)
	if err != nil {
		return err
	}
	if exists(l.Rootfs()) && state.FromImage == o.FromImage && state.ImageID == id {
		return nil
	}
	if !isPlatform32(platform) {
		fmt.Fprintf(out, "armhf-shim: note: image %s is %s, not a 32-bit platform: its dockerd picks that platform's images, not linux/arm/v7; "+
			"for armhf take `docker pull --platform linux/arm/v7 %s` first\n", o.FromImage, platform, o.FromImage)
	}
	f, err := os.CreateTemp(l.Dir, ".from-image-*.tar")
	if err != nil {
		return err
	}
	archive := f.Name()
	f.Close()
	defer os.Remove(archive)
	fmt.Fprintf(out, "armhf-shim: docker save %s (%s) and unpacking it into %s\n", o.FromImage, platform, l.Rootfs())
	var stderr bytes.Buffer
	save := exec.Command(docker, "save", "-o", archive, o.FromImage)
	save.Stdout, save.Stderr = io.Discard, &stderr
	if err := save.Run(); err != nil {
		return fmt.Errorf("docker save %s: %v: %s", o.FromImage, err, strings.TrimSpace(stderr.String()))
	}
	res, err := unpackRootfs(l, archive, "image "+o.FromImage, o.Platform)
	if err != nil {
		return err
	}
	*state = State{FromImage: o.FromImage, ImageID: id, Platform: o.Platform, Kind: string(res.Kind), Image: res.Image}
	return writeState(l, *state)
}

// inspectImage asks the host's Docker for the image's ID and platform.
func inspectImage(docker, ref string) (id, platform string, err error) {
	im, err := dockerimage.Inspect(docker, ref)
	if errors.Is(err, dockerimage.ErrNotFound) {
		return "", "", fmt.Errorf("image %s is not in the host's Docker; pull it first, for armhf: docker pull --platform linux/arm/v7 %s", ref, ref)
	}
	if err != nil {
		return "", "", err
	}
	return im.ID, im.Platform(), nil
}

func isPlatform32(p string) bool {
	for _, q := range Platforms32 {
		if p == q {
			return true
		}
	}
	return false
}
