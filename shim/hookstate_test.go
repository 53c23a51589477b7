package shim

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ParseHookState decodes the OCI state as encoding/json does into
// specs.State, for the states runtimes write and for damaged ones.
func TestParseHookStateMatchesJSON(t *testing.T) {
	for _, c := range []string{
		`{"ociVersion":"1.0.2","id":"c1","status":"created","pid":4242,"bundle":"/run/b","annotations":{"a":"b"}}`,
		`{"ociVersion":"1.2.0","id":"c1","status":"stopped","bundle":"/b","annotations":null,"newField":[1,{"x":2}]}`,
		`{"id":"c\u0031","pid":0,"bundle":"/b"}`, `{"id":"c1","pid":null}`, `{}`, `null`,
		`{"id":1}`, `{"id":"c1","pid":"12"}`, `{"id":"c1","pid":1.5}`, `{"id":"c1","annotations":{"a":1}}`,
		`{"id":"c1"`, `[]`, `{"id":"c1"} x`,
	} {
		var want specs.State
		werr := json.Unmarshal([]byte(c), &want)
		got, gerr := ParseHookState([]byte(c))
		if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHookState(%q) = %+v, %v; encoding/json %+v, %v", c, got, gerr, want, werr)
		}
	}
}

// Rootless podman runs poststop hooks itself with an empty environment;
// in a user namespace the hook then takes XDG_RUNTIME_DIR from its parent
// (podman), where the createRuntime hook put the cpuinfo files.
func TestHookGetenv(t *testing.T) {
	parent := func(env ...string) int {
		cmd := exec.Command("sleep", "10")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	withXDG := parent("XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/ci")
	without := parent("HOME=/home/ci")
	for _, c := range []struct {
		name   string
		own    string
		ppid   int
		userns bool
		want   string
	}{
		{"its own", "/run/user/1001", withXDG, true, "/run/user/1001"},
		{"rootless poststop: the parent's", "", withXDG, true, "/run/user/1000"},
		{"parent without it", "", without, true, ""},
		{"not in a user namespace: its own, unset", "", withXDG, false, ""},
	} {
		getenv := func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return c.own
			}
			return "other"
		}
		g := hookGetenv(getenv, c.ppid, func() bool { return c.userns })
		if got := g("XDG_RUNTIME_DIR"); got != c.want || g("HOME") != "other" {
			t.Errorf("%s: XDG_RUNTIME_DIR %q, want %q (HOME %q)", c.name, got, c.want, g("HOME"))
		}
	}
}
