package dockercli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/armhf-shim/armhf-shim/dockercli/dockerargs"
	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/platform"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mapFiles is a file tree given as absolute path → content.
type mapFiles fstest.MapFS

func files(m map[string]string) Files {
	fsys := fstest.MapFS{}
	for name, content := range m {
		fsys[strings.TrimPrefix(name, "/")] = &fstest.MapFile{Data: []byte(content)}
	}
	return mapFiles(fsys)
}

func (m mapFiles) ReadFile(name string) ([]byte, error) {
	return fs.ReadFile(fstest.MapFS(m), strings.TrimPrefix(name, "/"))
}

func (m mapFiles) ReadDir(name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(fstest.MapFS(m), strings.TrimPrefix(name, "/"))
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		config string
		want   Settings
		rest   []string
		err    string
	}{
		{"defaults", []string{"ps"}, nil, "", Settings{CPUInfo: DefaultCPUInfo}, []string{"ps"}, ""},
		{"config file", []string{"ps"}, nil, `{"docker":"/usr/bin/docker","dockerCPUInfo":"/etc/ci","dockerPlatform":true,"runtime":"runc","stateRoot":"/run/armhf-shim"}`,
			Settings{Docker: "/usr/bin/docker", CPUInfo: "/etc/ci", Platform: "linux/arm/v7"}, []string{"ps"}, ""},
		{"config platform string", nil, nil, `{"dockerPlatform":"linux/arm/v6"}`, Settings{CPUInfo: DefaultCPUInfo, Platform: "linux/arm/v6"}, nil, ""},
		{"env beats config", []string{"run", "x"}, map[string]string{EnvDocker: "/opt/docker", EnvCPUInfo: "/tmp/ci", EnvPlatform: "1"},
			`{"docker":"/usr/bin/docker","dockerPlatform":false}`,
			Settings{Docker: "/opt/docker", CPUInfo: "/tmp/ci", Platform: "linux/arm/v7"}, []string{"run", "x"}, ""},
		{"config platform empty", nil, nil, `{"dockerPlatform":""}`, Settings{CPUInfo: DefaultCPUInfo}, nil, ""},
		{"env platform off", nil, map[string]string{EnvPlatform: "false"}, `{"dockerPlatform":true}`, Settings{CPUInfo: DefaultCPUInfo}, nil, ""},
		{"disabled", []string{"run", "x"}, map[string]string{config.EnvSwitch: "0"}, "", Settings{CPUInfo: DefaultCPUInfo, Disabled: true}, []string{"run", "x"}, ""},
		{"enabled explicitly", nil, map[string]string{config.EnvSwitch: "1"}, "", Settings{CPUInfo: DefaultCPUInfo}, nil, ""},
		{"flags beat env", []string{"--armhf-shim-docker=/a/docker", "--armhf-shim-cpuinfo", "/b/ci", "--armhf-shim-platform", "run", "--armhf-shim-docker=/c"},
			map[string]string{EnvDocker: "/opt/docker"}, "",
			Settings{Docker: "/a/docker", CPUInfo: "/b/ci", Platform: "linux/arm/v7"}, []string{"run", "--armhf-shim-docker=/c"}, ""},
		{"flag platform value", []string{"--armhf-shim-platform=linux/arm64", "ps"}, nil, "", Settings{CPUInfo: DefaultCPUInfo, Platform: "linux/arm64"}, []string{"ps"}, ""},
		// A platform docker cannot pull is refused here, not turned into a failed pull.
		{"flag platform bogus", []string{"--armhf-shim-platform=bogus", "run", "img"}, nil, "", Settings{}, nil, `--armhf-shim-platform=bogus: not a boolean or a platform: "bogus": unknown operating system or architecture`},
		{"flag platform unknown arch", []string{"--armhf-shim-platform=linux/bogus", "run", "img"}, nil, "", Settings{}, nil, `"linux/bogus" is not a platform docker can pull`},
		{"env platform unknown OS", nil, map[string]string{EnvPlatform: "plan10/arm"}, "", Settings{}, nil, "ARMHF_SHIM_PLATFORM=plan10/arm: \"plan10/arm\" is not a platform"},
		{"config platform unknown arch", nil, nil, `{"dockerPlatform":"linux/armv9"}`, Settings{}, nil, "dockerPlatform: \"linux/armv9\" is not a platform"},
		{"cpuinfo for all, option", []string{"--armhf-shim-cpuinfo-all", "ps"}, nil, `{"dockerCPUInfoAll":false}`, Settings{CPUInfo: DefaultCPUInfo, CPUInfoAll: true}, []string{"ps"}, ""},
		{"cpuinfo for all, env beats config", []string{"ps"}, map[string]string{EnvCPUInfoAll: "no"}, `{"dockerCPUInfoAll":true}`, Settings{CPUInfo: DefaultCPUInfo}, []string{"ps"}, ""},
		{"cpuinfo for all, config", []string{"ps"}, nil, `{"dockerCPUInfoAll":true}`, Settings{CPUInfo: DefaultCPUInfo, CPUInfoAll: true}, []string{"ps"}, ""},
		{"cpuinfo for all, option off", []string{"--armhf-shim-cpuinfo-all=off", "ps"}, map[string]string{EnvCPUInfoAll: "1"}, "", Settings{CPUInfo: DefaultCPUInfo}, []string{"ps"}, ""},
		{"cpuinfo for all, bad", []string{"--armhf-shim-cpuinfo-all=maybe", "ps"}, nil, "", Settings{}, nil, "--armhf-shim-cpuinfo-all=maybe: want 1"},
		{"prepare", []string{"--armhf-shim-prepare"}, nil, "", Settings{CPUInfo: DefaultCPUInfo, Prepare: true}, []string{}, ""},
		{"unknown wrapper option", []string{"--armhf-shim-foo", "ps"}, nil, "", Settings{}, nil, "unknown wrapper option --armhf-shim-foo"},
		{"missing value", []string{"--armhf-shim-docker"}, nil, "", Settings{}, nil, "needs a value"},
		{"bad json", nil, nil, `{"docker":`, Settings{}, nil, "config file /etc/x.json"},
		{"bad platform type", nil, nil, `{"dockerPlatform":3}`, Settings{}, nil, "dockerPlatform must be"},
		// Read as encoding/json reads it into the wrapper's fields.
		{"names in any case, the last one wins", []string{"ps"}, nil, `{"Docker":"/a","docker":"/b","DOCKERCPUINFO":"/ci"}`,
			Settings{Docker: "/b", CPUInfo: "/ci"}, []string{"ps"}, ""},
		{"null is unset", []string{"ps"}, nil, `{"docker":null,"dockerPlatform":null}`, Settings{CPUInfo: DefaultCPUInfo}, []string{"ps"}, ""},
		{"docker not a string", nil, nil, `{"docker":3}`, Settings{}, nil, "docker: expected a string"},
		{"not an object", nil, nil, `["docker"]`, Settings{}, nil, "config file /etc/x.json"},
		{"trailing garbage", nil, nil, `{"docker":"/x"} {`, Settings{}, nil, "config file /etc/x.json"},
		{"bad env platform", nil, map[string]string{EnvPlatform: "linux/!!"}, "", Settings{}, nil, "ARMHF_SHIM_PLATFORM=linux/!!"},
		{"relative cpuinfo", nil, map[string]string{EnvCPUInfo: "cpuinfo"}, "", Settings{}, nil, "must be an absolute path"},
		{"cpuinfo path with a colon", nil, map[string]string{EnvCPUInfo: "/tmp/a:b/cpuinfo"}, "", Settings{}, nil, "cannot be given to docker run -v"},
		{"bad json names the way out", nil, nil, `{"docker":`, Settings{}, nil, "set ARMHF_SHIM=0"},
		// ARMHF_SHIM=0 sets a broken setting aside instead of failing every docker command.
		{"disabled: bad json set aside", []string{"ps"}, map[string]string{config.EnvSwitch: "0"}, `{"docker":`,
			Settings{CPUInfo: DefaultCPUInfo, Disabled: true, Ignored: "config file /etc/x.json: not valid JSON: unexpected end of input; fix it, point ARMHF_SHIM_CONFIG elsewhere, or set ARMHF_SHIM=0 to pass docker commands through unchanged"},
			[]string{"ps"}, ""},
		{"disabled: good config still names docker", []string{"ps"}, map[string]string{config.EnvSwitch: "off", EnvPlatform: "linux/!!"}, `{"docker":"/usr/bin/docker"}`,
			Settings{Docker: "/usr/bin/docker", CPUInfo: DefaultCPUInfo, Disabled: true, Ignored: `ARMHF_SHIM_PLATFORM=linux/!!: not a boolean or a platform: "linux/!!": invalid component "!!" (want os/arch[/variant], e.g. linux/arm/v7)`},
			[]string{"ps"}, ""},
		// One meaning of ARMHF_SHIM everywhere (internal/config.Switch): a typo is an error, not "on".
		{"switch in words", []string{"ps"}, map[string]string{config.EnvSwitch: "No"}, "", Settings{CPUInfo: DefaultCPUInfo, Disabled: true}, []string{"ps"}, ""},
		{"bad switch", []string{"ps"}, map[string]string{config.EnvSwitch: "maybe"}, "", Settings{}, nil, "ARMHF_SHIM=maybe: want 1, true, yes or on, or 0, false, no or off"},
		// The file is checked whole, as the runtime wrapper checks it: a typo in a key is an error.
		{"unknown key", []string{"ps"}, nil, `{"dockr":"/usr/bin/docker"}`, Settings{}, nil, `unknown key "dockr"`},
		{"disabled: unknown key set aside", []string{"ps"}, map[string]string{config.EnvSwitch: "0"}, `{"dockr":"/x"}`,
			Settings{CPUInfo: DefaultCPUInfo, Disabled: true, Ignored: `config file /etc/x.json: unknown key "dockr" (the keys: runtime, stateRoot, docker, dockerCPUInfo, dockerPlatform, dockerCPUInfoAll, machine, seccompAgent); fix it, point ARMHF_SHIM_CONFIG elsewhere, or set ARMHF_SHIM=0 to pass docker commands through unchanged`},
			[]string{"ps"}, ""},
		{"disabled: wrapper options still parsed", []string{"--armhf-shim-bogus", "ps"}, map[string]string{config.EnvSwitch: "0"}, "", Settings{}, nil, "unknown wrapper option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rest, err := ParseSettings(tc.args, envMap(tc.env), []byte(tc.config), "/etc/x.json")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.want {
				t.Errorf("settings = %+v, want %+v", s, tc.want)
			}
			if !slices.Equal(rest, tc.rest) {
				t.Errorf("rest = %q, want %q", rest, tc.rest)
			}
		})
	}
}

func ctxMeta(dir, name, host string) (string, string) {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(dir, "contexts/meta", hex.EncodeToString(sum[:]), "meta.json"),
		`{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
}

func TestResolveDaemon(t *testing.T) {
	fs := map[string]string{}
	k, v := ctxMeta("/home/u/.docker", "graviton", "ssh://ci@graviton.example.com")
	fs[k] = v
	k, v = ctxMeta("/home/u/.docker", "rootless", "unix:///run/user/1000/docker.sock")
	fs[k] = v
	k, v = ctxMeta("/cfg", "far", "tcp://10.1.2.3:2376")
	fs[k] = v
	fs["/home/u/.docker/config.json"] = `{"auths":{},"currentContext":"graviton"}`
	fs["/cfg2/config.json"] = `{"currentContext":"default"}`
	k, _ = ctxMeta("/cfg2", "broken", "")
	fs[k] = `{"Endpoints":`
	fs["/cfg3/contexts/meta/not-a-hash/meta.json"] = `{"Name":"mine","Endpoints":{"docker":{"Host":"tcp://10.9.9.9:2376"}}}`
	fs["/cfg3/contexts/meta/other/meta.json"] = `{"Name":"other","Endpoints":{"docker":{"Host":"unix:///o.sock"}}}`
	fs["/cfg4/config.json"] = `{}`

	home := map[string]string{"HOME": "/home/u"}
	with := func(m map[string]string) map[string]string {
		out := map[string]string{"HOME": "/home/u"}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name  string
		argv  string
		env   map[string]string
		host  string
		src   string
		local bool
		err   string
	}{
		{"-H wins over everything", "-H unix:///x.sock -c far run x", with(map[string]string{"DOCKER_HOST": "tcp://9.9.9.9:2375"}), "unix:///x.sock", "-H", true, ""},
		{"DOCKER_HOST", "run x", with(map[string]string{"DOCKER_HOST": "tcp://192.168.1.5:2375"}), "tcp://192.168.1.5:2375", "DOCKER_HOST", false, ""},
		{"DOCKER_HOST loopback", "run x", with(map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}), "tcp://127.0.0.1:2375", "DOCKER_HOST", true, ""},
		{"--context beats DOCKER_HOST", "--config /cfg --context far run x", with(map[string]string{"DOCKER_HOST": "unix:///a"}), "tcp://10.1.2.3:2376", "context far", false, ""},
		{"DOCKER_CONTEXT", "run x", with(map[string]string{"DOCKER_CONTEXT": "rootless"}), "unix:///run/user/1000/docker.sock", "context rootless", true, ""},
		{"currentContext", "run x", home, "ssh://ci@graviton.example.com", "context graviton", false, ""},
		{"DOCKER_CONFIG default context", "run x", with(map[string]string{"DOCKER_CONFIG": "/cfg2"}), "", "default", true, ""},
		{"nothing configured", "run x", map[string]string{}, "", "default", true, ""},
		{"--context default takes DOCKER_HOST", "--context default run x", with(map[string]string{"DOCKER_HOST": "tcp://10.0.0.5:2376"}), "tcp://10.0.0.5:2376", "DOCKER_HOST", false, ""},
		{"currentContext default takes DOCKER_HOST", "--config /cfg2 run x", with(map[string]string{"DOCKER_HOST": "ssh://ci@far"}), "ssh://ci@far", "DOCKER_HOST", false, ""},
		{"unknown context", "-c nope run x", home, "", "context nope", true, "docker context \"nope\": not found"},
		{"corrupt context", "--config=/cfg2 -c broken run x", home, "", "context broken", true, "meta.json"},
		// Found by its name, whatever its directory is called.
		{"context in any directory", "--config /cfg3 -c mine run x", home, "tcp://10.9.9.9:2376", "context mine", false, ""},
		{"no contexts at all", "--config /cfg4 -c mine run x", home, "", "context mine", true, "docker context \"mine\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := dockerargs.Parse(strings.Fields(tc.argv))
			d, err := ResolveDaemon(cmd.Globals, envMap(tc.env), files(fs))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if d.Host != tc.host || d.Source != tc.src {
				t.Errorf("daemon = %+v, want host %q source %q", d, tc.host, tc.src)
			}
			if IsLocal(d.Host) != tc.local {
				t.Errorf("IsLocal(%q) = %v", d.Host, !tc.local)
			}
		})
	}
}

func TestIsLocal(t *testing.T) {
	for host, want := range map[string]bool{
		"":                              true,
		"unix:///var/run/docker.sock":   true,
		"fd://":                         true,
		"npipe:////./pipe/docker":       true,
		"tcp://localhost:2375":          true,
		"tcp://127.0.0.1:2376":          true,
		"tcp://[::1]:2375":              true,
		"ssh://me@localhost":            true,
		"tcp://10.0.0.2:2375":           false,
		"tcp://docker.example.com:2376": false,
		"ssh://ci@graviton":             false,
		"192.168.1.1:2375":              false,
		"localhost:2375":                true,
		"LOCALHOST:2375":                true,
		"tcp://127.1.2.3:2375":          true,
		"tcp://127.0.0.1.evil.com:2375": false,
		"tcp://localhost.evil:2375":     false,
		"tcp://evil@10.0.0.1:2375":      false,
		"ssh://u@127.0.0.1:22/path":     true,
		"tcp://[::ffff:127.0.0.1]:2375": true,
		"tcp://[::ffff:10.0.0.1]:2375":  false,
		"tcp://[0:0:0:0:0:0:0:1]:2375":  true,
		"tcp://[fe80::1]:2375":          false,
		"tcp://[::1":                    false,
		"tcp://127.0.0.01:2375":         false,
		"tcp://1270.0.0.1:2375":         false,
		"tcp://:2375":                   true,
		"127.0.0.1:2375":                true,
		"[::1]:2375":                    true,
		"docker.example.com:2375":       false,
		"https://dind:2376":             false,
		"weird://x":                     false,
	} {
		if got := IsLocal(host); got != want {
			t.Errorf("IsLocal(%q) = %v, want %v", host, got, want)
		}
	}
}

// fakeEngine is a daemon with images (reference -> platform) of its own
// architecture arch; err, when set, is every answer.
type fakeEngine struct {
	images map[string]string
	arch   string
	err    error
	asked  []string
}

func (f *fakeEngine) ImagePlatform(host, image string) (platform.Platform, bool, error) {
	f.asked = append(f.asked, host+" image "+image)
	if f.err != nil {
		return platform.Platform{}, false, f.err
	}
	s, ok := f.images[image]
	if !ok {
		return platform.Platform{}, false, nil
	}
	p, err := platform.Parse(s)
	return p, true, err
}

func (f *fakeEngine) DaemonPlatform(host string) (platform.Platform, error) {
	f.asked = append(f.asked, host+" version")
	if f.err != nil {
		return platform.Platform{}, f.err
	}
	return platform.Platform{OS: "linux", Architecture: f.arch}, nil
}

func TestMakePlan(t *testing.T) {
	s := Settings{CPUInfo: "/run/armhf-shim/cpuinfo"}
	all := Settings{CPUInfo: s.CPUInfo, CPUInfoAll: true}
	mount := []string{"-v", "/run/armhf-shim/cpuinfo:/proc/cpuinfo:ro"}
	eng := &fakeEngine{arch: "amd64", images: map[string]string{"x": "linux/386", "x64": "linux/amd64"}}
	tests := []struct {
		name    string
		args    []string
		s       Settings
		nested  bool
		env     map[string]string
		want    []string
		need    bool
		warning string
	}{
		{"run", []string{"run", "--rm", "x"}, s, false, nil, append(append([]string{"run"}, mount...), "--rm", "x"), true, ""},
		{"run 64-bit", []string{"run", "--rm", "x64"}, s, false, nil, []string{"run", "--rm", "x64"}, false, ""},
		{"run 64-bit, all", []string{"run", "--rm", "x64"}, all, false, nil, append(append([]string{"run"}, mount...), "--rm", "x64"), true, ""},
		{"disabled", []string{"run", "x"}, Settings{CPUInfo: s.CPUInfo, Disabled: true}, false, nil, []string{"run", "x"}, false, ""},
		{"nested wrapper passes through", []string{"run", "x"}, s, true, nil, []string{"run", "x"}, false, ""},
		{"ps", []string{"ps"}, s, false, nil, []string{"ps"}, false, ""},
		{"remote", []string{"run", "x"}, s, false, map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2375"}, []string{"run", "x"}, false, "is not on this host"},
		{"remote still gets platform", []string{"-H", "ssh://ci@arm", "run", "x"}, Settings{CPUInfo: s.CPUInfo, Platform: "linux/arm/v7"}, false, nil,
			[]string{"-H", "ssh://ci@arm", "run", "--platform", "linux/arm/v7", "x"}, false, "ssh://ci@arm, from -H"},
		{"user mount", []string{"run", "-v", "/a:/proc/cpuinfo", "x"}, s, false, nil, []string{"run", "-v", "/a:/proc/cpuinfo", "x"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MakePlan(tc.args, tc.s, tc.nested, envMap(tc.env), files(nil), eng)
			if !slices.Equal(p.Argv, tc.want) {
				t.Errorf("argv = %q, want %q (%s)", p.Argv, tc.want, p.Why)
			}
			if p.NeedCPUInfo != tc.need {
				t.Errorf("NeedCPUInfo = %v", p.NeedCPUInfo)
			}
			if tc.warning == "" && p.Warning != "" || !strings.Contains(p.Warning, tc.warning) {
				t.Errorf("warning = %q, want %q", p.Warning, tc.warning)
			}
		})
	}
}

// TestIs32Bit: the cpuinfo goes to 32-bit containers only, decided by
// --platform, else the image as the daemon has it, else the daemon.
func TestIs32Bit(t *testing.T) {
	images := map[string]string{"i386/debian": "linux/386", "arm32v7/debian": "linux/arm/v7", "debian": "linux/amd64", "arm64v8/debian": "linux/arm64/v8"}
	d := Daemon{Host: "unix:///run/d.sock"}
	for _, c := range []struct {
		name  string
		args  string
		want  string // the wrapper's --platform setting
		arch  string // the daemon's
		err   error
		is32  bool
		why   string
		asked int
	}{
		{"user platform 32", "--platform linux/386 debian", "", "amd64", nil, true, "--platform linux/386", 0},
		{"user platform 64 beats setting", "--platform=linux/arm64 --rm arm32v7/debian", "linux/arm/v7", "arm64", nil, false, "--platform linux/arm64", 0},
		{"setting", "--rm debian", "armhf", "arm64", nil, true, "--platform linux/arm/v7", 0},
		{"image i386", "-it --rm i386/debian bash", "", "amd64", nil, true, "image i386/debian is linux/386", 1},
		{"image arm", "arm32v7/debian", "", "arm64", nil, true, "image arm32v7/debian is linux/arm/v7", 1},
		{"image 64", "-e A=B debian", "", "amd64", nil, false, "image debian is linux/amd64", 1},
		{"image arm64 on arm64", "arm64v8/debian", "", "arm64", nil, false, "image arm64v8/debian is linux/arm64", 1},
		{"image absent: 64-bit daemon", "--rm alpine", "", "arm64", nil, false, "the daemon is linux/arm64", 2},
		{"image absent: 32-bit daemon", "--rm alpine", "", "arm", nil, true, "the daemon is linux/arm/v7", 2},
		{"image unknown: the daemon", "--new-flag alpine", "", "amd64", nil, false, "the daemon is linux/amd64", 1},
		{"daemon not answering: as before", "debian", "", "", errors.New("connection refused"), true, "cannot ask the daemon", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			eng := &fakeEngine{images: images, arch: c.arch, err: c.err}
			is32, why := Is32Bit(strings.Fields(c.args), c.want, d, eng)
			if is32 != c.is32 || !strings.Contains(why, c.why) || len(eng.asked) != c.asked {
				t.Errorf("Is32Bit = %v, %q (asked %q); want %v, %q, %d questions", is32, why, eng.asked, c.is32, c.why, c.asked)
			}
			for _, q := range eng.asked {
				if !strings.HasPrefix(q, d.Host+" ") {
					t.Errorf("asked %q, not the command's daemon", q)
				}
			}
		})
	}
}

func TestEnsureCPUInfo(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	gen := func() ([]byte, error) { calls++; return []byte("processor\t: 0\nCPU architecture: 7\n"), nil }

	p := filepath.Join(dir, "sub", "cpuinfo")
	if err := EnsureCPUInfo(p, gen); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o644 || calls != 1 {
		t.Fatalf("after create: %v %v calls=%d", fi, err, calls)
	}
	if di, _ := os.Stat(filepath.Dir(p)); di.Mode().Perm() != 0o755 {
		t.Errorf("dir mode %v", di.Mode())
	}
	// Present: kept, not regenerated.
	if err := EnsureCPUInfo(p, gen); err != nil || calls != 1 {
		t.Fatalf("existing file regenerated (calls=%d, %v)", calls, err)
	}
	// Empty: regenerated.
	os.WriteFile(p, nil, 0o644)
	if err := EnsureCPUInfo(p, gen); err != nil || calls != 2 {
		t.Fatalf("empty file not regenerated (calls=%d, %v)", calls, err)
	}
	// An empty directory where the file should be (docker made it): rmdir
	// is the advice.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	if err := EnsureCPUInfo(empty, gen); !errors.Is(err, ErrCPUInfoDir) || !strings.Contains(err.Error(), "rmdir "+empty) {
		t.Fatalf("empty directory: %v", err)
	}
	// Any other directory (say /tmp): no rmdir advice, the option to fix
	// instead; left untouched.
	d := filepath.Join(dir, "asdir")
	os.MkdirAll(filepath.Join(d, "keep"), 0o755)
	if err := EnsureCPUInfo(d, gen); !errors.Is(err, ErrCPUInfoDir) || strings.Contains(err.Error(), "rmdir") ||
		!strings.Contains(err.Error(), OptCPUInfo) {
		t.Fatalf("directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d, "keep")); err != nil {
		t.Fatal("directory was changed")
	}
	// Generation failure: error, nothing written.
	q := filepath.Join(dir, "fail")
	if err := EnsureCPUInfo(q, func() ([]byte, error) { return nil, errors.New("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("gen failure: %v", err)
	}
	if _, err := os.Stat(q); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("file written despite failure")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
