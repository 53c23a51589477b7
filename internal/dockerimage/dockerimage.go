// Package dockerimage asks the host's Docker about a local image through
// the docker CLI (so DOCKER_HOST, contexts and the CLI's API negotiation
// are the user's own), for the commands that take an image the user has:
// dind --from-image and buildx image.
package dockerimage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNotFound is the daemon saying it has no such image.
var ErrNotFound = errors.New("no such image")

// Image is what the daemon says of a local image.
type Image struct {
	ID           string
	OS           string
	Architecture string
	Variant      string
}

// Platform is os/arch[/variant].
func (im Image) Platform() string {
	p := im.OS + "/" + im.Architecture
	if im.Variant != "" {
		p += "/" + im.Variant
	}
	return p
}

// Inspect asks docker (the CLI's path) for the image ref. The JSON is
// read here rather than through --format: Docker 20.10 fails a template
// on a key the image lacks (Variant). A missing image is an error
// wrapping ErrNotFound.
func Inspect(docker, ref string) (Image, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(docker, "image", "inspect", ref)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(strings.ToLower(msg), "no such image") {
			return Image{}, fmt.Errorf("image %s is not in the host's Docker: %w", ref, ErrNotFound)
		}
		return Image{}, fmt.Errorf("docker image inspect %s: %v: %s", ref, err, msg)
	}
	return parseInspect(ref, stdout.Bytes())
}

func parseInspect(ref string, b []byte) (Image, error) {
	var images []struct {
		ID           string `json:"Id"`
		Os           string
		Architecture string
		Variant      string
	}
	if err := json.Unmarshal(b, &images); err != nil || len(images) != 1 || images[0].ID == "" {
		return Image{}, fmt.Errorf("docker image inspect %s: unexpected answer (%v): %.200q", ref, err, b)
	}
	im := images[0]
	return Image{ID: im.ID, OS: im.Os, Architecture: im.Architecture, Variant: im.Variant}, nil
}
