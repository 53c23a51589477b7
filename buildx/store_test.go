package buildx

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestConfigDirs(t *testing.T) {
	passwd := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\nci:x:1000:1000::/home/ci:/bin/sh\n"), 0o644)
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"HOME": "/root"}, []string{"/root/.docker/buildx"}},
		{map[string]string{"HOME": "/root", "DOCKER_CONFIG": "/etc/dc"}, []string{"/etc/dc/buildx"}},
		{map[string]string{"HOME": "/root", "DOCKER_CONFIG": "/etc/dc", "BUILDX_CONFIG": "/bx"}, []string{"/bx"}},
		{map[string]string{"HOME": "/root", "SUDO_USER": "ci"}, []string{"/root/.docker/buildx", "/home/ci/.docker/buildx"}},
		{map[string]string{"HOME": "/home/ci", "SUDO_USER": "ci"}, []string{"/home/ci/.docker/buildx"}},
		{map[string]string{"HOME": "/root", "SUDO_USER": "nobody-here"}, []string{"/root/.docker/buildx"}},
	} {
		if got := ConfigDirs(func(k string) string { return c.env[k] }, passwd); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: %q, want %q", c.env, got, c.want)
		}
	}
}

// An instances file as buildx v0.38.2 writes it (Files base64, Flags null).
func TestInstances(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "instances"), 0o700)
	os.WriteFile(filepath.Join(dir, "instances", "armhf"), []byte(`{"Name":"armhf","Driver":"docker-container","Nodes":[{"Name":"armhf0","Endpoint":"default","Platforms":null,"DriverOpts":{"image":"localhost/armhf-shim/buildkit:v0.35.0"},"Flags":null,"Files":{"buildkitd.toml":"W3dvcmtlci5vY2ldCg=="}}],"Dynamic":false}`), 0o600)
	os.WriteFile(filepath.Join(dir, "instances", "junk"), []byte(`{`), 0o600)
	got := Instances(dir)
	if len(got) != 1 || got[0].Name != "armhf" || got[0].Driver != "docker-container" || len(got[0].Nodes) != 1 ||
		got[0].Nodes[0].DriverOpts["image"] != "localhost/armhf-shim/buildkit:v0.35.0" || string(got[0].Nodes[0].Files["buildkitd.toml"]) != "[worker.oci]\n" ||
		got[0].File != filepath.Join(dir, "instances", "armhf") {
		t.Errorf("%+v", got)
	}
}
