package buildx

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/uname"
)

// The recipe's base image is buildx's default builder image at the
// buildkit version the tests build and run.
func TestDefaultFromIsTheTestedBuildKit(t *testing.T) {
	want := "moby/buildkit:" + testenv.EngineVersion(t, "buildkit")
	if got := DefaultFrom(); got != want {
		t.Errorf("Dockerfile ARG %s=%s, want %s (scripts/engines.versions)", ImageArg, got, want)
	}
}

// The config names the wrapper where the Dockerfile puts it, as the OCI
// worker's binary (buildkitd's config keys, read as TOML).
func TestBuildkitdTOMLNamesTheWrapper(t *testing.T) {
	var cfg struct {
		Worker struct {
			OCI struct {
				Binary string `toml:"binary"`
			} `toml:"oci"`
		} `toml:"worker"`
	}
	if err := toml.Unmarshal(BuildkitdTOML, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Worker.OCI.Binary != WrapperPath {
		t.Errorf("worker.oci.binary = %q, want %q", cfg.Worker.OCI.Binary, WrapperPath)
	}
	if !bytes.Contains(Dockerfile, []byte("COPY armhf-runc "+WrapperPath+"\n")) {
		t.Errorf("the Dockerfile does not copy armhf-runc to %s:\n%s", WrapperPath, Dockerfile)
	}
}

func TestDefaultTag(t *testing.T) {
	for from, want := range map[string]string{
		"moby/buildkit:v0.35.0":                  TagRepo + ":v0.35.0",
		"moby/buildkit":                          TagRepo + ":latest",
		"registry.example:5000/buildkit":         TagRepo + ":latest",
		"registry.example:5000/buildkit:v0.20.1": TagRepo + ":v0.20.1",
		"moby/buildkit:v0.35.0@sha256:0123":      TagRepo + ":v0.35.0",
		"moby/buildkit@sha256:0123":              TagRepo + ":latest",
	} {
		if got := DefaultTag(from); got != want {
			t.Errorf("DefaultTag(%q) = %q, want %q", from, got, want)
		}
	}
}

func TestContext(t *testing.T) {
	b, err := Context([]byte("ELF..."))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got[h.Name] = string(data) + " " + os.FileMode(h.Mode).String()
	}
	want := map[string]string{
		"Dockerfile":     string(Dockerfile) + " -rw-r--r--",
		"buildkitd.toml": string(BuildkitdTOML) + " -rw-r--r--",
		"armhf-runc":     "ELF... -rwxr-xr-x",
	}
	if len(got) != len(want) {
		t.Errorf("entries %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func TestCheckWrapper(t *testing.T) {
	arm := uname.Compat32ELF("arm64") // static 32-bit executables
	i386 := uname.Compat32ELF("amd64")
	cases := []struct {
		name, arch string
		bin        []byte
		err        string
	}{
		{"static i386 for a 386 image", "386", i386, ""},
		{"static ARM for an arm image", "arm", arm, ""},
		{"ARM for an arm64 image", "arm64", arm, "built for arm, the image for arm64"},
		{"not ELF", runtime.GOARCH, []byte("#!/bin/sh\n"), "not an ELF binary"},
	}
	if dyn, err := os.ReadFile("/bin/true"); err == nil && hasInterp(t, dyn) {
		cases = append(cases, struct {
			name, arch string
			bin        []byte
			err        string
		}{"dynamic /bin/true", runtime.GOARCH, dyn, "dynamically linked"})
	} else {
		t.Log("/bin/true is not a dynamic executable here: the dynamic case is not checked")
	}
	for _, c := range cases {
		err := CheckWrapper(bytes.NewReader(c.bin), "armhf-runc", c.arch)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}

func hasInterp(t *testing.T, b []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

// The lines name the tag, the config saved under the name they pass to
// --buildkitd-config, and a registry for the kubernetes driver's nodes.
func TestInstructions(t *testing.T) {
	local := Instructions(TagRepo + ":v0.35.0")
	for _, want := range []string{
		"armhf-shim buildx config > " + ConfigFile + "\n",
		"docker buildx create --name armhf --driver docker-container --driver-opt image=" + TagRepo + ":v0.35.0 --buildkitd-config " + ConfigFile + " --use\n",
		"docker tag " + TagRepo + ":v0.35.0 REGISTRY/armhf-shim/buildkit:v0.35.0\n",
		"docker push REGISTRY/armhf-shim/buildkit:v0.35.0\n",
		"--driver kubernetes --driver-opt image=REGISTRY/armhf-shim/buildkit:v0.35.0,nodeselector=kubernetes.io/arch=arm64 --buildkitd-config " + ConfigFile,
	} {
		if !strings.Contains(local, want) {
			t.Errorf("instructions lack %q:\n%s", want, local)
		}
	}
	ecr := "123.dkr.ecr.eu-west-1.amazonaws.com/armhf-buildkit:v0.35.0"
	remote := Instructions(ecr)
	if strings.Contains(remote, "docker tag") || !strings.Contains(remote, "docker push "+ecr+"\n") ||
		!strings.Contains(remote, "--driver-opt image="+ecr+",nodeselector") {
		t.Errorf("a registry tag is pushed as it is:\n%s", remote)
	}
}
