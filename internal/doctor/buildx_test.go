package doctor

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJudgeBuilder(t *testing.T) {
	wrapperTOML := []byte("[worker.oci]\n  binary = \"/usr/bin/armhf-runc\"\n")
	has := func(paths ...string) func(string) (bool, error) {
		return func(p string) (bool, error) {
			for _, q := range paths {
				if p == q {
					return true, nil
				}
			}
			return false, nil
		}
	}
	running := func(config []byte, args []string, files ...string) *BuilderContainer {
		return &BuilderContainer{Exists: true, Running: true, Image: "localhost/armhf-shim/buildkit:v0.35.0", Args: args, Config: config, Has: has(files...)}
	}
	for _, c := range []struct {
		name    string
		f       BuilderFacts
		wrapper string
		detail  string
		problem bool
	}{
		{"builder image: config names the wrapper, image has it",
			BuilderFacts{Driver: "docker-container", Container: running(wrapperTOML, nil, "/usr/bin/armhf-runc")},
			"yes", "RUN steps go through the wrapper /usr/bin/armhf-runc (/etc/buildkit/buildkitd.toml [worker.oci] binary)", false},
		{"plain moby/buildkit",
			BuilderFacts{Driver: "docker-container", Container: running(nil, []string{"--allow-insecure-entitlement=network.host"})},
			"no", "run buildkit-runc directly (default)", false},
		{"config names the wrapper, the image lacks it",
			BuilderFacts{Name: "b", Driver: "docker-container", Container: running(wrapperTOML, nil)},
			"no", "is not in its image", true},
		{"the flag beats the config",
			BuilderFacts{Driver: "docker-container", Container: running(wrapperTOML, []string{"--oci-worker-binary=/usr/bin/buildkit-runc"}, "/usr/bin/armhf-runc")},
			"no", "run /usr/bin/buildkit-runc directly (--oci-worker-binary)", false},
		{"a config naming another runtime",
			BuilderFacts{Driver: "docker-container", Container: running([]byte("[worker.oci]\nbinary = \"crun\"\n"), nil)},
			"no", "run crun directly", false},
		{"malformed config",
			BuilderFacts{Driver: "docker-container", Container: running([]byte("[worker.oci\n"), nil)},
			"unknown", "malformed", false},
		{"not bootstrapped",
			BuilderFacts{Name: "armhf", Driver: "docker-container", Container: &BuilderContainer{}, StoredConfig: wrapperTOML},
			"unknown", "not started yet", false},
		{"dockerd unreachable",
			BuilderFacts{Driver: "docker-container", ContainerErr: os.ErrPermission},
			"unknown", "could not be asked", false},
		{"kubernetes",
			BuilderFacts{Driver: "kubernetes", Image: "ecr/armhf-buildkit:v0.35.0", StoredConfig: wrapperTOML},
			"unknown", "OCI worker binary /usr/bin/armhf-runc (its --buildkitd-config [worker.oci] binary)", false},
		{"remote, local buildkitd with the wrapper",
			BuilderFacts{Driver: "remote", Endpoint: "unix:///run/buildkit/buildkitd.sock",
				Local: &LocalBuildkitd{Pid: 7, Args: []string{"--oci-worker-binary", "/usr/local/bin/armhf-runc"}}},
			"yes", "buildkitd pid 7", false},
		{"remote, nothing local",
			BuilderFacts{Driver: "remote", Endpoint: "tcp://10.0.0.5:1234"},
			"unknown", "doctor sees no local buildkitd there", false},
		{"docker driver", BuilderFacts{Driver: "docker"}, "unknown", "the buildkit route", false},
	} {
		b := JudgeBuilder(c.f)
		if b.Wrapper != c.wrapper || !strings.Contains(b.Detail, c.detail) || (b.Problem != "") != c.problem {
			t.Errorf("%s: wrapper %q, detail %q, problem %q; want %q, %q, problem %v", c.name, b.Wrapper, b.Detail, b.Problem, c.wrapper, c.detail, c.problem)
		}
	}
}

// Builders are read from buildx's instances files; a node's endpoint is a
// docker host or a context name resolved through the context store.
func TestBuilderFactsFromStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "buildx")
	os.MkdirAll(filepath.Join(dir, "instances"), 0o700)
	os.WriteFile(filepath.Join(dir, "instances", "k8s"), []byte(`{"Name":"k8s","Driver":"kubernetes","Nodes":[{"Name":"k8s0","Endpoint":"kubernetes:///k8s?deploymentName=k8s0","DriverOpts":{"image":"ecr/x:1"},"Flags":null,"Files":{"buildkitd.toml":"W3dvcmtlci5vY2ldCmJpbmFyeSA9ICIvdXNyL2Jpbi9hcm1oZi1ydW5jIgo="}}],"Dynamic":false}`), 0o600)
	os.WriteFile(filepath.Join(dir, "instances", "junk"), []byte(`{`), 0o600)
	h := newHost(Options{BuildxDirs: []string{dir}})
	fs := h.builderFacts()
	if len(fs) != 1 || fs[0].Image != "ecr/x:1" || string(fs[0].StoredConfig) != "[worker.oci]\nbinary = \"/usr/bin/armhf-runc\"\n" {
		t.Fatalf("facts %+v", fs)
	}

	// docker context create graviton --docker host=unix:///run/graviton.sock
	sum := sha256.Sum256([]byte("graviton"))
	meta := filepath.Join(filepath.Dir(dir), "contexts", "meta", hex.EncodeToString(sum[:]))
	os.MkdirAll(meta, 0o755)
	os.WriteFile(filepath.Join(meta, "meta.json"), []byte(`{"Name":"graviton","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/graviton.sock","SkipTLSVerify":false}}}`), 0o644)
	for _, c := range []struct{ endpoint, want, err string }{
		{"unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock", ""},
		{"tcp://10.0.0.5:2376", "", "not a local unix socket"},
		{"nosuchcontext", "", `docker context "nosuchcontext"`},
		{"graviton", "/run/graviton.sock", ""},
	} {
		got, err := dockerSocket(dir, c.endpoint)
		if got != c.want || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %q %v, want %q %q", c.endpoint, got, err, c.want, c.err)
		}
	}
}

// A remote builder's local buildkitd reads the config its --config, else
// its BUILDKITD_CONFIG, names — the same file the buildkitd route judges.
func TestLocalBuildkitdConfig(t *testing.T) {
	proc := t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(proc, "50/cmdline"), "/usr/bin/buildkitd\x00--addr\x00unix:///run/bk-env.sock\x00")
	write(filepath.Join(proc, "50/environ"), "BUILDKITD_CONFIG=/srv/env.toml\x00")
	write(filepath.Join(proc, "50/root/srv/env.toml"), "[worker.oci]\nbinary = \"/usr/bin/armhf-runc\"\n")
	write(filepath.Join(proc, "51/cmdline"), "buildkitd\x00--config=/srv/flag.toml\x00--addr=unix:///run/bk-flag.sock\x00")
	write(filepath.Join(proc, "51/environ"), "BUILDKITD_CONFIG=/srv/env.toml\x00")
	h := newHost(Options{Proc: proc})
	for sock, want := range map[string]string{"unix:///run/bk-env.sock": "/srv/env.toml", "unix:///run/bk-flag.sock": "/srv/flag.toml"} {
		l := h.localBuildkitd(sock)
		if l == nil || l.Path != want {
			t.Fatalf("%s: %+v, want config %s", sock, l, want)
		}
	}
	if b := JudgeBuilder(BuilderFacts{Name: "r", Driver: "remote", Endpoint: "unix:///run/bk-env.sock", Local: h.localBuildkitd("unix:///run/bk-env.sock")}); b.Wrapper != "yes" {
		t.Errorf("remote builder on a BUILDKITD_CONFIG buildkitd: %+v", b)
	}
}
