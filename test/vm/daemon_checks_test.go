package vm

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The daemon routes' cases (cases/dockerd-*.sh, ...), which run Debian's
// engines from the VM's second disk. Kept apart from checks_test.go so the
// per-route assertions read together.
func init() {
	for name, check := range daemonChecks {
		checks[name] = check
	}
}

var daemonChecks = map[string]func(t *testing.T, m cpuModel, r *CaseResult){
	// The route every later dockerd-* case stands on: install registered
	// the wrapper as the default runtime and the daemon reports it.
	"dockerd-0-start": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: dockerd start:\n%s", m.Name, r.Output())
		wantOK(t, r)
		wantLines(t, r, "default-runtime: armhf", "dockerd PATH: /usr/local/lib/armhf-shim/buildkit:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (from /etc/systemd/system/docker.service.d/armhf-shim-buildkit.conf)", "busybox-armhf:latest", "busybox-arm64:latest")
	},
	"dockerd-run-armhf": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		wantOK(t, r)
		wantLines(t, r, "uname -m: armv8l", "CPU architecture: 7")
	},
	"dockerd-exec": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		wantOK(t, r)
		wantLines(t, r, "exec uname -m: armv8l")
	},
	// The default runtime passes a 64-bit container straight through: the
	// host's machine and /proc/cpuinfo, on every CPU model.
	"dockerd-run-arm64": func(t *testing.T, m cpuModel, r *CaseResult) {
		wantOK(t, r)
		wantLines(t, r, "uname -m: aarch64")
		c := parseCPUInfo(r.Stdout)
		c.wantAll(t, "CPU architecture", "8")
		c.wantAll(t, "CPU part", m.Part)
		c.wantProcessors(t, vmCPUs)
	},
	// dockerd's embedded BuildKit with --platform linux/arm/v7 and no QEMU:
	// the RUN runs natively through install buildkit's runc link, or (no
	// AArch32) the build fails saying why, never with another architecture.
	"dockerd-build-armhf": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		t.Logf("%s: dockerd-build-armhf:\n%s", m.Name, r.Stdout)
		wantOK(t, r)
		wantLines(t, r, "uname -m: armv8l", "CPU architecture: 7", "platform: linux/arm/v7",
			"image: linux/arm/v7")
	},
	"dockerd-config-guess": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		wantStdout(t, r, "armv8l-unknown-linux-gnueabihf")
	},
	// The 32-bit dockerd (armhf-shim dind start) of Debian's armhf docker.io:
	// Docker itself reports and picks linux/arm. On a CPU without AArch32 it
	// cannot start, and must say so.
	"dind-0-start": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: dind start:\n%s", m.Name, r.Output())
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		wantOK(t, r)
		// docker info: the machine a 32-bit dockerd reports (uname -m in
		// its LINUX32 personality), its OS type and the VM's CPUs.
		wantLines(t, r, "version: linux/arm", fmt.Sprintf("info: armv8l linux %d", vmCPUs), "busybox-armhf:latest")
	},
	"dind-build": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			if r.RC == 0 {
				t.Errorf("dind-build exited 0 on a CPU without AArch32:\n%s", r.Output())
			}
			return
		}
		t.Logf("%s: dind-build:\n%s", m.Name, r.Stdout)
		wantOK(t, r)
		wantLines(t, r, "uname -m: armv8l", "CPU architecture: 7", "platform: linux/arm/v7",
			"image: linux/arm/v7", "classic uname -m: armv8l")
	},
	// A standalone buildkitd:arm64 configured by install buildkitd (OCI
	// worker). Its own probe of the CPU decides whether linux/arm/v7 is a
	// native platform: listed with AArch32, not without.
	"buildkitd-0-start": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: buildkitd start:\n%s", m.Name, r.Output())
		wantOK(t, r)
		wantLines(t, r, `binary = "/usr/local/bin/armhf-runc"`)
		platforms := ""
		for _, l := range strings.Split(r.Stdout, "\n") {
			if p, ok := strings.CutPrefix(l, "worker platforms: "); ok {
				platforms = p
			}
		}
		listed := strings.Contains(","+platforms+",", ",linux/arm/v7,")
		if !strings.HasPrefix(platforms, "linux/arm64") || listed != m.AArch32 {
			t.Errorf("%s (AArch32 %v): buildkitd's worker platforms %q", m.Name, m.AArch32, platforms)
		}
	},
	// buildctl --opt platform=linux/arm/v7 with no QEMU: the RUN runs
	// natively through the wrapper, or (no AArch32) the build fails saying
	// why, never with another architecture.
	"buildkitd-build-armhf": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		t.Logf("%s: buildkitd-build-armhf:\n%s", m.Name, r.Stdout)
		wantOK(t, r)
		wantLines(t, r, "uname -m: armv8l", "CPU architecture: 7", "platform: linux/arm/v7",
			"image: linux/arm/v7")
	},
	// doctor finds the running buildkitd and asks it which binary its
	// worker runs; without AArch32 it says what to use instead.
	"buildkitd-doctor": func(t *testing.T, m cpuModel, r *CaseResult) {
		var rep struct {
			Routes []struct {
				Name              string
				Installed, Active bool
				Detail            string
			}
			Verdict  string
			Problems []string
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("doctor --json (exit %d): %v\n%s", r.RC, err, r.Output())
		}
		found := false
		for _, rt := range rep.Routes {
			if rt.Name == "buildkitd" {
				found = true
				if !rt.Installed || !rt.Active || !strings.Contains(rt.Detail, "/usr/local/bin/armhf-runc") {
					t.Errorf("%s: doctor's buildkitd route: %+v", m.Name, rt)
				}
			}
		}
		if !found {
			t.Errorf("%s: doctor --json has no buildkitd route:\n%s", m.Name, r.Stdout)
		}
		if m.AArch32 {
			if r.RC != 0 {
				t.Errorf("%s: doctor exited %d: %s; problems %q", m.Name, r.RC, rep.Verdict, rep.Problems)
			}
			return
		}
		t.Logf("%s: doctor's verdict: %s", m.Name, rep.Verdict)
		if r.RC != 1 || !strings.Contains(rep.Verdict, "AArch32") || !strings.Contains(rep.Verdict, "apt-get install qemu-user-static") {
			t.Errorf("%s (no AArch32): doctor exited %d; its verdict does not name AArch32 and what to install: %q", m.Name, r.RC, rep.Verdict)
		}
	},
	// containerd's CRI (Debian's containerd 1.6) with the handler of
	// `armhf-shim install containerd`, as a RuntimeClass uses it.
	"cri-0-start": func(t *testing.T, m cpuModel, r *CaseResult) {
		t.Logf("%s: containerd start:\n%s", m.Name, r.Output())
		wantOK(t, r)
		wantLines(t, r, "docker.io/library/busybox-armhf:latest")
	},
	"cri-run-armhf": func(t *testing.T, m cpuModel, r *CaseResult) {
		if !m.AArch32 {
			wantNo32BitARM(t, r)
			return
		}
		wantOK(t, r)
		wantLines(t, r, "uname -m: armv8l", "CPU architecture: 7")
	},
}

// wantLines wants each of lines as a whole line of r's stdout.
func wantLines(t *testing.T, r *CaseResult, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		have[strings.TrimSpace(l)] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("%s: no line %q in its output:\n%s", r.Name, l, r.Output())
		}
	}
}

// wantNo32BitARM: on a CPU without AArch32 a 32-bit ARM container must fail
// with an error that says the host cannot run 32-bit ARM code, never run
// (or seem to run) as something else.
func wantNo32BitARM(t *testing.T, r *CaseResult) {
	t.Helper()
	t.Logf("%s on a CPU without AArch32 (exit %d):\n%s", r.Name, r.RC, r.Output())
	wantAArch32Refusal(t, r)
}
