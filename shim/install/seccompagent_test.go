package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The units shipped in deploy/systemd are the ones install writes for
// /usr/local/bin/armhf-shim and the default socket.
func TestDeployedAgentUnits(t *testing.T) {
	for file, want := range map[string][]byte{
		AgentUnitName + ".socket":  AgentSocketUnit("/run/armhf-shim/seccomp-agent.sock", "/run/armhf-shim/seccomp-agent-lxc.sock"),
		AgentUnitName + ".service": AgentServiceUnit("/usr/local/bin/armhf-shim", AgentUnitName),
	} {
		got, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/systemd/%s differs from what install writes:\n%s", file, unifiedDiff(file, got, want))
		}
	}
}

func TestSeccompAgentTarget(t *testing.T) {
	dir := t.TempDir()
	sockUnit := filepath.Join(dir, "system", "x.socket")
	svcUnit := filepath.Join(dir, "system", "x.service")
	opts := func(uninstall bool) Options {
		return Options{Target: "seccomp-agent", Config: sockUnit, Binary: "/opt/bin/armhf-shim", AgentSocket: "/run/a/agent.sock",
			Uninstall: uninstall, Out: &bytes.Buffer{}, Now: func() time.Time { return time.Unix(0, 0) }}
	}
	if err := Run(opts(false)); err != nil {
		t.Fatal(err)
	}
	sock, _ := os.ReadFile(sockUnit)
	svc, _ := os.ReadFile(svcUnit)
	if !strings.Contains(string(sock), "\nListenStream=/run/a/agent.sock\n") ||
		!strings.Contains(string(svc), "\nExecStart=/opt/bin/armhf-shim seccomp-agent\n") || !strings.Contains(string(svc), "\nRequires=x.socket\n") {
		t.Errorf("socket unit:\n%s\nservice:\n%s", sock, svc)
	}
	if p, err := BuildPlan(opts(false)); err != nil || len(p.Files) != 0 {
		t.Errorf("installing again: %d changes, %v", len(p.Files), err)
	}

	// An enabled socket unit is not removed from under systemd.
	wants := filepath.Join(dir, "system", "sockets.target.wants")
	os.Mkdir(wants, 0o755)
	os.Symlink(sockUnit, filepath.Join(wants, "x.socket"))
	if err := Run(opts(true)); err == nil || !strings.Contains(err.Error(), "systemctl disable --now x.socket x.service") {
		t.Errorf("uninstalling an enabled unit: %v", err)
	}
	os.RemoveAll(wants)
	if err := Run(opts(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "system")); err == nil {
		t.Error("the directory install created is still there")
	}

	// Someone else's unit of that name is left alone.
	os.MkdirAll(filepath.Dir(svcUnit), 0o755)
	os.WriteFile(svcUnit, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	for _, u := range []bool{false, true} {
		if err := Run(opts(u)); err == nil || !strings.Contains(err.Error(), "not written by armhf-shim") {
			t.Errorf("uninstall=%v over a foreign service: %v", u, err)
		}
	}
	if b, _ := os.ReadFile(svcUnit); string(b) != "[Service]\nExecStart=/bin/true\n" {
		t.Errorf("the foreign service changed: %q", b)
	}
	if _, err := os.Stat(sockUnit); err == nil {
		t.Error("install wrote the socket unit beside a foreign service")
	}
}

// TestSeccompAgentUninstallKeepsEdited: a unit the user edited after
// install (it still starts with install's marker line) is the user's now:
// uninstall keeps it and says so, and removes the one still as written.
func TestSeccompAgentUninstallKeepsEdited(t *testing.T) {
	dir := t.TempDir()
	sockUnit := filepath.Join(dir, "system", "x.socket")
	svcUnit := filepath.Join(dir, "system", "x.service")
	var out bytes.Buffer
	opts := func(uninstall bool) Options {
		return Options{Target: "seccomp-agent", Config: sockUnit, Binary: "/opt/bin/armhf-shim", AgentSocket: "/run/a/agent.sock",
			Uninstall: uninstall, Out: &out, Now: func() time.Time { return time.Unix(0, 0) }}
	}
	if err := Run(opts(false)); err != nil {
		t.Fatal(err)
	}
	svc, _ := os.ReadFile(svcUnit)
	edited := strings.Replace(string(svc), "Restart=always\n", "Restart=always\nEnvironment=MINE=1\n", 1)
	if edited == string(svc) {
		t.Fatalf("the service has no Restart=always line to edit:\n%s", svc)
	}
	os.WriteFile(svcUnit, []byte(edited), 0o644)
	if err := Run(opts(true)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(svcUnit); err != nil || string(b) != edited {
		t.Errorf("uninstall did not keep the edited service (%v):\n%s", err, b)
	}
	if _, err := os.Stat(sockUnit); err == nil {
		t.Error("uninstall kept the socket unit install wrote and nobody changed")
	}
	if !strings.Contains(out.String(), "kept "+svcUnit) {
		t.Errorf("uninstall does not say it kept %s:\n%s", svcUnit, out.String())
	}
}
