package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// ImportArch makes an image ref of architecture arch (a GOARCH: "386",
// "arm") from the root filesystem directory rootfs, with docker load of
// a docker-archive built here: docker import --platform does not set the
// architecture on Docker 20.10.
func (d *Dockerd) ImportArch(t testing.TB, rootfs, ref, arch string) {
	t.Helper()
	archive := DockerArchive(t, rootfs, ref, arch)
	load := exec.Command(DockerCLI, "load")
	load.Env = d.Env()
	load.Stdin = bytes.NewReader(archive)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("docker load %s (%s): %v: %s", ref, arch, err, out)
	}
}

// DockerArchive is a docker-archive (docker save's format, which docker
// load and ctr images import read) of one image ref of architecture arch
// (a GOARCH) whose single layer is the directory rootfs; cmd, if given, is
// its Cmd.
func DockerArchive(t testing.TB, rootfs, ref, arch string, cmd ...string) []byte {
	t.Helper()
	layer, err := exec.Command("tar", "-C", rootfs, "-c", ".").Output()
	if err != nil {
		t.Fatalf("tar %s: %v", rootfs, err)
	}
	sum := sha256.Sum256(layer)
	diffID := hex.EncodeToString(sum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"config":       imageConfig(cmd),
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + diffID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	csum := sha256.Sum256(config)
	configName := hex.EncodeToString(csum[:]) + ".json"
	if !strings.Contains(ref, ":") {
		ref += ":latest"
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{ref}, "Layers": []string{diffID + "/layer.tar"}}})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	for _, f := range []struct {
		name string
		data []byte
	}{{diffID + "/layer.tar", layer}, {configName, config}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return archive.Bytes()
}

func imageConfig(cmd []string) map[string]any {
	c := map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	if len(cmd) > 0 {
		c["Cmd"] = cmd
	}
	return c
}
