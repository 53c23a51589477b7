// Package buildx makes docker buildx builders whose RUN steps go through
// the runtime wrapper: the docker-container and kubernetes drivers run
// BuildKit from an image (moby/buildkit), with its own buildkitd and runc,
// which no host setting reaches.
//
// The model: a builder image is moby/buildkit plus the static armhf-runc
// and a buildkitd.toml naming it as the OCI worker's binary (the recipe is
// this directory's Dockerfile and buildkitd.toml, embedded). Inside, the
// wrapper finds the image's runc under its name there, buildkit-runc
// (shim/runtimecfg). [Image] builds it locally with the classic builder
// from whatever buildkit image the user has — nothing is RUN, and nothing
// pulled when the base is local — and [Instructions] are the buildx create
// lines that use it. buildx pulls a builder image first and, when the pull
// fails, uses the local one: the default tag names the registry
// "localhost", which answers no pull, so a tag on Docker Hub can never
// replace the local image.
//
// Everything but Image is pure: the context archive, the default tag, the
// lines, the ELF check of the wrapper binary.
package buildx

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Dockerfile and BuildkitdTOML are the recipe.
var (
	//go:embed Dockerfile
	Dockerfile []byte
	//go:embed buildkitd.toml
	BuildkitdTOML []byte
)

// WrapperPath is where the image holds the wrapper; BuildkitdTOML names it.
const WrapperPath = "/usr/bin/armhf-runc"

// ImageArg is the Dockerfile's build argument naming the base image.
const ImageArg = "BUILDKIT_IMAGE"

// TagRepo is the repository of the default tag (see the package comment).
const TagRepo = "localhost/armhf-shim/buildkit"

var argRE = regexp.MustCompile(`(?m)^ARG ` + ImageArg + `=(\S+)\s*$`)

// DefaultFrom is the base image the recipe pins (its ARG's default).
func DefaultFrom() string {
	m := argRE.FindSubmatch(Dockerfile)
	if m == nil {
		panic("buildx: the embedded Dockerfile has no ARG " + ImageArg + "=IMAGE")
	}
	return string(m[1])
}

// DefaultTag is the tag of the image built from from: TagRepo with from's
// tag ("latest" when it has none, or only a digest).
func DefaultTag(from string) string {
	ref, _, _ := strings.Cut(from, "@")
	tag := "latest"
	// A tag follows the last ':' after the last '/' (a registry's port precedes it).
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = ref[i+1:]
	}
	return TagRepo + ":" + tag
}

// Context is the build context of the recipe, as a tar archive, with
// wrapper (the armhf-runc binary's content) as armhf-runc.
func Context(wrapper []byte) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, Dockerfile},
		{"buildkitd.toml", 0o644, BuildkitdTOML},
		{"armhf-runc", 0o755, wrapper},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// elfArch maps ELF machines to OCI architectures.
var elfArch = map[elf.Machine]string{
	elf.EM_AARCH64: "arm64",
	elf.EM_X86_64:  "amd64",
	elf.EM_ARM:     "arm",
	elf.EM_386:     "386",
}

// CheckWrapper says whether the binary r (named name) can be the image's
// wrapper on arch (the image's OCI architecture): an ELF executable for
// arch without a program interpreter — a dynamic binary would need the
// host's C library, which a moby/buildkit image (Alpine's musl) lacks.
func CheckWrapper(r io.ReaderAt, name, arch string) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("%s is not an ELF binary: %v", name, err)
	}
	got, ok := elfArch[f.Machine]
	if !ok {
		got = f.Machine.String()
	}
	if got != arch {
		return fmt.Errorf("%s is built for %s, the image for %s: build armhf-runc for it (GOARCH=%s make bin/armhf-runc) and give it as --runtime-binary", name, got, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: the image needs a static armhf-runc (make bin/armhf-runc builds one)", name)
		}
	}
	return nil
}
