package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/uname"
)

// doctor on this machine: a real probe, real runc.
func TestDoctor(t *testing.T) {
	r := runShim(t, "", nil, "doctor", "--json")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("doctor --json exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Kernel struct{ Machine string }
		Compat struct {
			Native        bool
			CompatMachine string `json:"compat_machine"`
			Method        string
		}
		Machine struct {
			Available bool
			Note      string
			Agent     string
		} `json:"machine_option"`
		Runtimes []struct {
			Name, Version      string
			HonoursPersonality bool `json:"honours_personality"`
		}
		Verdict string
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --json is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Compat.Native != (r.code == 0) {
		t.Errorf("native %v but exit %d", rep.Compat.Native, r.code)
	}
	if rep.Kernel.Machine == "x86_64" {
		if !rep.Compat.Native || rep.Compat.CompatMachine != "i686" || !strings.HasPrefix(rep.Verdict, "YES") {
			t.Errorf("x86_64 host should run i386 natively: %+v", rep)
		}
	}
	// Seccomp user notification is in every kernel since 5.0.
	if rel, _ := uname.Release(); kernelAtLeast(rel, 5, 0) != rep.Machine.Available {
		t.Errorf("kernel %s: --machine available %v (%s)", rel, rep.Machine.Available, rep.Machine.Note)
	}
	if !strings.Contains(rep.Machine.Agent, " on /") {
		t.Errorf("the seccomp agent's status does not name its socket: %q", rep.Machine.Agent)
	}
	if testenv.RequireCommand(t, "runc") != "" {
		found := false
		for _, rt := range rep.Runtimes {
			found = found || rt.Name == "runc" && rt.Version != "unknown"
		}
		if !found {
			t.Errorf("runc on PATH not reported: %+v", rep.Runtimes)
		}
	}
	text := runShim(t, "", nil, "doctor")
	if text.code != r.code || !strings.Contains(text.stdout, "native ") || !strings.Contains(text.stdout, rep.Verdict) {
		t.Errorf("text report (exit %d):\n%s", text.code, text.stdout)
	}
}

// The wrapper installed as runc on PATH must not be reported as a runtime.
func TestDoctorSkipsItself(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(shimBinary(t), filepath.Join(dir, "runc")); err != nil {
		t.Fatal(err)
	}
	r := runShim(t, "", []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, "doctor", "--json")
	// A doctor that crashed or printed nothing must not pass for one that
	// skipped itself.
	if r.code != 0 && r.code != 1 {
		t.Fatalf("doctor --json exit %d (signal %v), want 0 or 1: stdout %q stderr %q", r.code, r.signal, r.stdout, r.stderr)
	}
	var rep struct {
		Runtimes []struct{ Name, Path string }
		Verdict  string
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --json is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Verdict == "" {
		t.Errorf("doctor --json has no verdict:\n%s", r.stdout)
	}
	for _, rt := range rep.Runtimes {
		if strings.HasPrefix(rt.Path, dir) {
			t.Errorf("doctor lists itself as runtime %s at %s", rt.Name, rt.Path)
		}
	}
	if strings.Contains(r.stdout, dir) {
		t.Errorf("doctor lists itself as a runtime:\n%s", r.stdout)
	}
}

// kernelAtLeast reports whether a release such as "6.1.0-27-arm64" is at
// least major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	fmt.Sscanf(release, "%d.%d", &ma, &mi)
	return ma > major || ma == major && mi >= minor
}

// The --json schema (docs/doctor.md): routes [{name, installed, active,
// detail}] for the nine routes in order, problems always a list; and
// --daemon-json points the docker route at another file.
func TestDoctorJSONSchema(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	rt := filepath.Join(dir, "armhf-runc")
	os.WriteFile(rt, []byte("#!/bin/true\n"), 0o755)
	os.WriteFile(cfg, []byte(`{"runtimes": {"armhf": {"path": "`+rt+`"}}}`), 0o644)
	r := runShim(t, "", nil, "doctor", "--json", "--daemon-json", cfg)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("doctor --json exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Routes   []map[string]json.RawMessage
		Problems json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rt := range rep.Routes {
		var name string
		json.Unmarshal(rt["name"], &name)
		names = append(names, name)
		if len(rt) != 4 || rt["installed"] == nil || rt["active"] == nil || rt["detail"] == nil {
			t.Errorf("route %s has members %v, want name, installed, active, detail", name, rt)
		}
	}
	if strings.Join(names, " ") != "docker buildkit buildkitd containerd podman docker-cli dind lxc podman-runtime" {
		t.Errorf("routes %q", names)
	}
	var problems []string
	if err := json.Unmarshal(rep.Problems, &problems); err != nil || problems == nil {
		t.Errorf("problems is %s, want a list", rep.Problems)
	}
	if !strings.Contains(string(rep.Routes[0]["detail"]), rt+" in "+cfg) || string(rep.Routes[0]["installed"]) != "true" {
		t.Errorf("--daemon-json %s not judged: %s", cfg, rep.Routes[0]["detail"])
	}
}

// doctor --nfd writes the labels of its own verdict: on this host the
// exit code and the file agree, and the file replaces an older one.
func TestDoctorNFD(t *testing.T) {
	f := filepath.Join(t.TempDir(), "features.d", "armhf-shim")
	os.MkdirAll(filepath.Dir(f), 0o755)
	os.WriteFile(f, []byte("stale=1\n"), 0o644)
	r := runShim(t, "", nil, "doctor", "--nfd", f)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("doctor --nfd exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	native := r.code == 0
	m := uname.HostCompatMachine()
	wantAArch32 := fmt.Sprintf("feature.node.kubernetes.io/armhf-shim.aarch32=%v\n", native && m == "armv8l")
	if !strings.Contains(string(b), wantAArch32) || strings.Contains(string(b), "stale") {
		t.Errorf("exit %d, file:\n%s\nwant %q", r.code, b, wantAArch32)
	}
	if native && !strings.Contains(string(b), "armhf-shim.compat-machine="+m+"\n") {
		t.Errorf("native, but no compat machine %q in:\n%s", m, b)
	}
}

// doctor looks for armhf-lxc's containers and the 32-bit dockerd where
// they are made: ARMHF_LXC_PATH and ARMHF_SHIM_DIND_DIR, which armhf-lxc
// and dind read, were ignored ("no armhf-lxc containers in /var/lib/lxc"
// beside a running one).
func TestDoctorEnvDirs(t *testing.T) {
	lxcpath, dindDir := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(lxcpath, "b1"), 0o755)
	os.WriteFile(filepath.Join(lxcpath, "b1", "armhf-lxc.json"), []byte(`{"version":1,"name":"b1","docker":true}`), 0o644)
	r := runShim(t, "", []string{"ARMHF_LXC_PATH=" + lxcpath, "ARMHF_SHIM_DIND_DIR=" + dindDir}, "doctor")
	if !strings.Contains(r.stdout, "b1: ") || !strings.Contains(r.stdout, "route dind:") || !strings.Contains(r.stdout, dindDir) {
		t.Errorf("doctor with ARMHF_LXC_PATH=%s ARMHF_SHIM_DIND_DIR=%s:\n%s%s", lxcpath, dindDir, r.stdout, r.stderr)
	}
}

// The runtime wrapper execs runc (or the runtime its config names): a
// host with crun alone — Debian 12's podman pulls in crun, not runc — is
// a problem doctor names, not a runtime the wrapper could use.
func TestDoctorCrunAlone(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		problem       bool
	}{
		{"crun", "crun version 1.8.1", true},
		{"runc", "runc version 1.1.5", false},
	} {
		bin := t.TempDir()
		os.WriteFile(filepath.Join(bin, tc.name), []byte("#!/bin/sh\necho '"+tc.version+"'\n"), 0o755)
		r := runShim(t, "", []string{"PATH=" + bin, "ARMHF_SHIM_CONFIG="}, "doctor", "--json")
		var rep struct {
			Runtimes []struct{ Name string }
			Problems []string
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%s alone: %v: %s", tc.name, err, r.stderr)
		}
		got := strings.Contains(strings.Join(rep.Problems, "\n"), "the runtime wrapper finds no real runtime")
		if got != tc.problem || len(rep.Runtimes) != 1 || rep.Runtimes[0].Name != tc.name {
			t.Errorf("%s alone on PATH: runtimes %+v, problems %q", tc.name, rep.Runtimes, rep.Problems)
		}
	}
}
