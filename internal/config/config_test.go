package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonFile is File as encoding/json reads it, unknown keys disallowed:
// the reference Parse follows.
type jsonFile struct {
	Runtime          string `json:"runtime"`
	StateRoot        string `json:"stateRoot"`
	Docker           string `json:"docker"`
	DockerCPUInfo    string `json:"dockerCPUInfo"`
	DockerPlatform   any    `json:"dockerPlatform"`
	DockerCPUInfoAll bool   `json:"dockerCPUInfoAll"`
	Machine          string `json:"machine"`
	SeccompAgent     string `json:"seccompAgent"`
}

// Parse accepts and decodes what encoding/json does for one object (with
// unknown keys disallowed, and dockerPlatform a boolean or a string), and
// refuses the rest.
func TestParseMatchesJSON(t *testing.T) {
	for _, c := range []string{
		`{}`, `null`, ` null `, `{"runtime":"/usr/bin/crun"}`, `{"stateRoot":"/run/x","runtime":"runc"}`, `{"Runtime":"caps"}`,
		`{"runtime":null}`, `{"runtime":"a","runtime":"b"}`, `{"runtime":"a","runtime":null}`, `{"run\u0074ime":"esc"}`,
		` {"runtime" : "sp"} `, `{"runtme":"typo"}`, `{"runtime":1}`, `{"runtime":["a"]}`, `[]`, `"s"`, `{`, `{"runtime":"a",}`,
		`{"docker":"/usr/bin/docker","dockerCPUInfo":"/etc/ci","dockerPlatform":true,"runtime":"runc","stateRoot":"/run/armhf-shim"}`,
		`{"Docker":"/a","docker":"/b","DOCKERCPUINFO":"/ci"}`, `{"docker":null,"dockerPlatform":null}`, `{"docker":3}`,
		`{"dockerPlatform":false}`, `{"dockerPlatform":"linux/arm/v6"}`, `{"dockerPlatform":""}`, `{"dockerPlatform":true,"dockerPlatform":null}`,
		`{"dockerPlatform":3}`, `{"dockerPlatform":{}}`, `{"dockerPlatform":["linux/arm"]}`, `{"dockerplatform":"x"}`,
		`{"docker":"/x"} {`, `{"dockerCPUInfoAll":true}`, `{"dockerCPUInfoAll":false}`, `{"dockerCPUInfoAll":null}`,
		`{"dockerCPUInfoAll":true,"dockerCPUInfoAll":null}`, `{"dockerCPUInfoAll":"true"}`, `{"dockerCPUInfoAll":1}`,
		`{"machine":"armv7l","seccompAgent":"/run/a.sock"}`, `{"Machine":"armv7l"}`, `{"machine":7}`, `{"machine":null}`,
	} {
		var ref jsonFile
		dec := json.NewDecoder(strings.NewReader(c))
		dec.DisallowUnknownFields()
		werr := dec.Decode(&ref)
		want := File{Runtime: ref.Runtime, StateRoot: ref.StateRoot, Docker: ref.Docker, DockerCPUInfo: ref.DockerCPUInfo, DockerCPUInfoAll: ref.DockerCPUInfoAll}
		switch p := ref.DockerPlatform.(type) {
		case nil:
		case bool:
			want.DockerPlatform = map[bool]string{true: "true", false: "false"}[p]
		case string:
			want.DockerPlatform = p
		default:
			werr = &json.UnsupportedValueError{Str: "dockerPlatform"} // a number, object or array: refused
		}
		if werr == nil && dec.More() {
			werr = &json.SyntaxError{} // unlike a json.Decoder, nothing may follow the object
		}
		got, gerr := Parse([]byte(c))
		var gotUname Uname
		if got.Uname != nil {
			gotUname, got.Uname = *got.Uname, nil
		}
		if werr == nil && gotUname != (Uname{Machine: ref.Machine, SeccompAgent: ref.SeccompAgent}) {
			t.Errorf("Parse(%q): uname keys %+v, encoding/json %q %q", c, gotUname, ref.Machine, ref.SeccompAgent)
		}
		if (werr == nil) != (gerr == nil) || werr == nil && got != want {
			t.Errorf("Parse(%q) = %+v, %v; encoding/json %+v, %v", c, got, gerr, want, werr)
		}
	}
}

// An empty file is no settings (where encoding/json would see no document).
func TestParseEmpty(t *testing.T) {
	for _, c := range []string{"", " \n\t"} {
		if f, err := Parse([]byte(c)); err != nil || f != (File{}) {
			t.Errorf("Parse(%q) = %+v, %v", c, f, err)
		}
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	for c, want := range map[string]string{
		`{"runtme":"x"}`:       `unknown key "runtme" (the keys: runtime, stateRoot, docker, dockerCPUInfo, dockerPlatform, dockerCPUInfoAll, machine, seccompAgent)`,
		`{"docker":3}`:         "docker: expected a string",
		`{"dockerPlatform":3}`: "dockerPlatform must be true, false or a platform",
	} {
		if _, err := Parse([]byte(c)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s): %v, want %q", c, err, want)
		}
	}
}

func TestLocate(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		flag     string
		env      map[string]string
		path     string
		explicit bool
	}{
		{"", nil, DefaultPath, false},
		{"", map[string]string{EnvPath: "/e.json"}, "/e.json", true},
		{"/f.json", map[string]string{EnvPath: "/e.json"}, "/f.json", true},
	} {
		if p, e := Locate(c.flag, env(c.env)); p != c.path || e != c.explicit {
			t.Errorf("Locate(%q, %v) = %q, %v", c.flag, c.env, p, e)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"runtime":"/r","docker":"/d"}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"runtime":`), 0o644)
	missing := filepath.Join(dir, "missing.json")

	if f, found, err := Load(good, true); err != nil || !found || f != (File{Runtime: "/r", Docker: "/d"}) {
		t.Errorf("good: %+v %v %v", f, found, err)
	}
	if _, found, err := Load(bad, false); err == nil || !found || !strings.Contains(err.Error(), "config file "+bad+" is malformed") {
		t.Errorf("bad: %v %v", found, err)
	}
	if f, found, err := Load(missing, false); err != nil || found || f != (File{}) {
		t.Errorf("absent default: %+v %v %v", f, found, err)
	}
	if _, found, err := Load(missing, true); err == nil || found || !os.IsNotExist(err) {
		t.Errorf("absent explicit: %v %v", found, err)
	}
}

func TestSwitch(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "true": true, "TRUE": true, "Yes": true, "on": true, " on\n": true,
		"0": false, "false": false, "False": false, "no": false, "OFF": false,
	} {
		if got, err := Switch(v); err != nil || got != want {
			t.Errorf("Switch(%q) = %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "2", "maybe", "t", "f", "enabled", "o"} {
		if _, err := Switch(v); err != ErrSwitch {
			t.Errorf("Switch(%q): %v, want ErrSwitch", v, err)
		}
	}
}
