package modify

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/spec"
)

const agentSock = "/run/armhf-shim/seccomp-agent.sock"

// dockerSeccomp is linux.seccomp of the Docker 20.10 fixture.
func dockerSeccomp(t *testing.T) []byte {
	t.Helper()
	linux, err := rawjson.Member(testenv.DockerConfig(t), "linux")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rawjson.Member(linux, "seccomp")
	if err != nil || raw == nil {
		t.Fatalf("fixture has no linux.seccomp: %v", err)
	}
	return raw
}

func decodeSeccomp(t *testing.T, raw []byte) (specs.LinuxSeccomp, map[string]json.RawMessage) {
	t.Helper()
	var s specs.LinuxSeccomp
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	json.Unmarshal(raw, &m)
	return s, m
}

// notifyRules returns the rules naming any uname call, and checks that no
// system call is named by two rules (libseccomp refuses two actions).
func notifyRules(t *testing.T, s specs.LinuxSeccomp) []specs.LinuxSyscall {
	t.Helper()
	var out []specs.LinuxSyscall
	seen := map[string]bool{}
	for _, r := range s.Syscalls {
		for _, n := range r.Names {
			if seen[n] && len(r.Args) == 0 {
				t.Errorf("%s named twice", n)
			}
			seen[n] = true
			if strings.HasSuffix(n, "uname") {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func TestUnameProfile(t *testing.T) {
	docker := dockerSeccomp(t)
	dockerS, _ := decodeSeccomp(t, docker)
	tests := []struct {
		name   string
		in     []byte
		goarch string
		check  func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage)
	}{
		{"none", nil, "amd64", func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
			if s.DefaultAction != specs.ActAllow || !slices.Equal(s.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
				t.Errorf("a profile from nothing must allow the rest, for both ABIs: %+v", s)
			}
		}},
		{"null", []byte("null"), "arm64", func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
			if !slices.Equal(s.Architectures, []specs.Arch{specs.ArchAARCH64, specs.ArchARM}) {
				t.Errorf("architectures %v", s.Architectures)
			}
		}},
		{"docker", docker, "amd64", func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
			if s.DefaultAction != dockerS.DefaultAction || !slices.Equal(s.Architectures, dockerS.Architectures) || len(s.Syscalls) != len(dockerS.Syscalls)+1 {
				t.Errorf("more than the uname rules changed: %s, %v, %d rules", s.DefaultAction, s.Architectures, len(s.Syscalls))
			}
			allow := s.Syscalls[0]
			if slices.Contains(allow.Names, "uname") || len(allow.Names) != len(dockerS.Syscalls[0].Names)-1 {
				t.Errorf("the allow rule still has uname, or lost another name: %d names", len(allow.Names))
			}
			for i := 1; i < len(dockerS.Syscalls); i++ {
				a, _ := json.Marshal(s.Syscalls[i])
				b, _ := json.Marshal(dockerS.Syscalls[i])
				if !bytes.Equal(a, b) {
					t.Errorf("rule %d changed: %s", i, a)
				}
			}
		}},
		{"only-uname-rule", []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ALLOW"},{"names":["read","olduname"],"action":"SCMP_ACT_ALLOW"}]}`), "amd64",
			func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
				if len(s.Syscalls) != 2 || !slices.Equal(s.Syscalls[0].Names, []string{"read"}) {
					t.Errorf("rules %+v", s.Syscalls)
				}
			}},
		{"no-syscalls", []byte(`{"defaultAction":"SCMP_ACT_ALLOW","x-vendor":{"k":[1,2]}}`), "amd64", func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
			if string(m["x-vendor"]) != `{"k":[1,2]}` || len(s.Syscalls) != 1 {
				t.Errorf("unknown member or syscalls: %s %+v", m["x-vendor"], s.Syscalls)
			}
		}},
		{"empty-object", []byte(`{ }`), "amd64", func(t *testing.T, s specs.LinuxSeccomp, m map[string]json.RawMessage) {
			if len(s.Syscalls) != 1 {
				t.Errorf("syscalls %+v", s.Syscalls)
			}
		}},
		{"own-listener-again", []byte(`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"` + agentSock + `","listenerMetadata":"old"}`), "amd64", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := UnameProfile(tt.in, tt.goarch, agentSock, "armv7l")
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) {
				t.Fatalf("not JSON: %s", out)
			}
			s, m := decodeSeccomp(t, out)
			if s.ListenerPath != agentSock || s.ListenerMetadata != "armv7l" {
				t.Errorf("listener %q %q", s.ListenerPath, s.ListenerMetadata)
			}
			rules := notifyRules(t, s)
			want := unameCalls[tt.goarch]
			if len(rules) != 1 || rules[0].Action != specs.ActNotify || !slices.Equal(rules[0].Names, want) {
				t.Errorf("uname rules %+v, want one SCMP_ACT_NOTIFY rule for %v", rules, want)
			}
			if tt.check != nil {
				tt.check(t, s, m)
			}
			// Applying it again changes nothing.
			again, err := UnameProfile(out, tt.goarch, agentSock, "armv7l")
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("not idempotent: %v\n%s\n%s", err, out, again)
			}
		})
	}
}

func TestUnameProfileErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in, goarch, want string
	}{
		{"other-listener", `{"listenerPath":"/run/other.sock"}`, "amd64", "listener of its own"},
		{"not-object", `[1]`, "amd64", "malformed"},
		{"bad-rule", `{"syscalls":[{"names":[1]}]}`, "amd64", "names"},
		{"rule-not-object", `{"syscalls":["uname"]}`, "amd64", "not an object"},
		{"no-compat", `{}`, "riscv64", "riscv64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnameProfile([]byte(tt.in), tt.goarch, agentSock, "armv7l")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// The modifier edits linux.seccomp only: the rest of the document is
// written back byte for byte.
func TestUnameNotifyKeepsTheRest(t *testing.T) {
	d := fixture(t)
	if err := Apply(d, UnameNotify("amd64", agentSock, "armv7l")); err != nil {
		t.Fatal(err)
	}
	s := decode(t, d)
	base := decode(t, fixture(t))
	if s.Linux.Seccomp.ListenerPath != agentSock {
		t.Errorf("listenerPath %q", s.Linux.Seccomp.ListenerPath)
	}
	s.Linux.Seccomp, base.Linux.Seccomp = nil, nil
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(base)
	if !bytes.Equal(a, b) {
		t.Error("more than linux.seccomp changed")
	}
	d, _ = spec.Parse([]byte(`{"process":{"args":["sh"]}}`))
	if err := Apply(d, UnameNotify("arm64", agentSock, "armv7l")); err != nil {
		t.Fatal(err)
	}
	if s := decode(t, d); s.Linux == nil || s.Linux.Seccomp == nil || s.Linux.Seccomp.ListenerPath != agentSock || s.Process.Args[0] != "sh" {
		t.Errorf("no linux object before: %+v", s)
	}
	if d, _ := spec.Parse([]byte(`{"linux":[]}`)); Apply(d, UnameNotify("amd64", agentSock, "armv7l")) == nil {
		t.Error("linux not an object: no error")
	}
}
