package setup

import (
	"strconv"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	dockerdSvc := Daemon{Pid: 10, Config: "/etc/docker/daemon.json", Unit: "docker.service"}
	for _, c := range []struct {
		name  string
		f     Facts
		steps []string // target config apply-kind unit
		notes []string // substrings, one per note
	}{
		{name: "nothing", f: Facts{}},
		{
			name:  "dockerd under systemd: runtime by reload, buildkit by restart after daemon-reload",
			f:     Facts{Systemd: true, Dockerd: Engine{Binary: "/usr/sbin/dockerd", Running: []Daemon{dockerdSvc}}},
			steps: []string{"docker /etc/docker/daemon.json reload docker.service 10", "buildkit  restart+daemon-reload docker.service 10"},
		},
		{
			name:  "dockerd not a service: runtime by SIGHUP, buildkit is a note",
			f:     Facts{Systemd: true, Dockerd: Engine{Running: []Daemon{{Pid: 7, Config: "/srv/d.json"}}}},
			steps: []string{"docker /srv/d.json reload  7"},
			notes: []string{"dockerd with pid 7: it is not docker.service"},
		},
		{
			name:  "dockerd installed, not running, no systemd",
			f:     Facts{Dockerd: Engine{Binary: "/usr/bin/dockerd"}},
			steps: []string{"docker  none  0"},
		},
		{
			name:  "dockerd installed, not running, systemd",
			f:     Facts{Systemd: true, Dockerd: Engine{Binary: "/usr/bin/dockerd"}},
			steps: []string{"docker  none  0", "buildkit  none+daemon-reload  0"},
		},
		{
			name:  "two dockerds on one daemon.json: one step",
			f:     Facts{Dockerd: Engine{Running: []Daemon{{Pid: 7, Config: "/etc/docker/daemon.json"}, {Pid: 8, Config: "/etc/docker/daemon.json"}}}},
			steps: []string{"docker /etc/docker/daemon.json reload  7"},
			notes: []string{"pid 7", "pid 8"},
		},
		{
			name: "dockerd's own containerd is a note; the system containerd a restart",
			f: Facts{Containerd: Engine{Binary: "/usr/bin/containerd", Running: []Daemon{
				{Pid: 20, Config: "/var/run/docker/containerd/containerd.toml", Parent: "dockerd"},
				{Pid: 21, Config: "/etc/containerd/config.toml", Unit: "containerd.service", Binary: "/usr/bin/containerd", Parent: "systemd"},
			}}},
			steps: []string{"containerd /etc/containerd/config.toml restart containerd.service 21"},
			notes: []string{"containerd pid 20 is dockerd's own"},
		},
		{
			name:  "containerd installed only",
			f:     Facts{Containerd: Engine{Binary: "/usr/local/bin/containerd"}},
			steps: []string{"containerd  none  0"},
		},
		{
			name:  "a daemon in another mount namespace is not set up from here",
			f:     Facts{Dockerd: Engine{Running: []Daemon{{Pid: 30, Config: "/etc/docker/daemon.json", OtherMountNS: true}}}},
			notes: []string{"dockerd pid 30 runs in another root or mount namespace"},
		},
		{
			name: "engines installed here, their daemons in another root (a container's): a note each, and the installed engines' steps",
			f: Facts{Systemd: true,
				Dockerd:    Engine{Binary: "/usr/bin/dockerd", Running: []Daemon{{Pid: 31, Config: "/etc/docker/daemon.json", OtherRoot: true}}},
				Containerd: Engine{Binary: "/usr/bin/containerd", Running: []Daemon{{Pid: 32, Config: "/etc/containerd/config.toml", OtherRoot: true, OtherMountNS: true}}},
				Crio:       Engine{Binary: "/usr/bin/crio", Running: []Daemon{{Pid: 33, OtherRoot: true}}},
				Buildkitd:  Engine{Binary: "/usr/bin/buildkitd", Running: []Daemon{{Pid: 34, Config: "/etc/buildkit/buildkitd.toml", OtherMountNS: true}}}},
			steps: []string{"docker  none  0", "buildkit  none+daemon-reload  0", "containerd  none  0", "crio  none  0", "buildkitd  none  0"},
			notes: []string{"dockerd pid 31 runs in another root", "containerd pid 32 runs in another root", "crio pid 33 runs in another root", "buildkitd pid 34 runs in another root"},
		},
		{
			name:  "podman: hook and runtime drop-in, nothing to apply",
			f:     Facts{Podman: "/usr/bin/podman"},
			steps: []string{"podman  none  0", "podman-runtime  none  0"},
		},
		{
			name: "crio and a standalone buildkitd: restarts",
			f: Facts{Crio: Engine{Binary: "/usr/bin/crio", Running: []Daemon{{Pid: 40, Unit: "crio.service"}}},
				Buildkitd: Engine{Running: []Daemon{{Pid: 41, Config: "/etc/buildkit/buildkitd.toml", Unit: "buildkit.service"}}}},
			steps: []string{"crio  restart crio.service 40", "buildkitd /etc/buildkit/buildkitd.toml restart buildkit.service 41"},
		},
		{
			name:  "buildx builders: docker driver covered, container driver a note, remote a note",
			f:     Facts{Builders: []Builder{{"default", "docker"}, {"ci", "docker-container"}, {"farm", "remote"}}},
			notes: []string{"builder ci (docker-container driver) runs its own buildkitd", "builder farm (remote driver)"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Detect(c.f)
			var got []string
			for _, s := range d.Steps {
				kind := map[ApplyKind]string{ApplyNone: "none", ApplyReload: "reload", ApplyRestart: "restart"}[s.Apply.Kind]
				if s.Apply.DaemonReload {
					kind += "+daemon-reload"
				}
				got = append(got, strings.Join([]string{s.Target, s.Config, kind, s.Apply.Unit, strconv.Itoa(s.Apply.Pid)}, " "))
				if s.Why == "" {
					t.Errorf("%s: no reason given", s.Target)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.steps, "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.steps, "\n"))
			}
			if len(d.Notes) != len(c.notes) {
				t.Fatalf("notes %q, want %d", d.Notes, len(c.notes))
			}
			for i, n := range c.notes {
				if !strings.Contains(d.Notes[i], n) {
					t.Errorf("note %q does not say %q", d.Notes[i], n)
				}
			}
		})
	}
}

// A step recorded while its engine was not running names no config
// (install's default); once the engine runs from that default it is the
// same step: setup --undo looks up how the running engine picks the
// removal up by it (a dockerd restart, a containerd restart), and a second
// setup finds it recorded.
func TestStepKeyNotRunningThenRunning(t *testing.T) {
	installed := Facts{Dockerd: Engine{Binary: "/usr/sbin/dockerd"}, Containerd: Engine{Binary: "/usr/bin/containerd"}, Buildkitd: Engine{Binary: "/usr/bin/buildkitd"}}
	running := installed
	running.Dockerd.Running = []Daemon{{Pid: 7, Config: "/etc/docker/daemon.json"}}
	running.Containerd.Running = []Daemon{{Pid: 8, Config: "/etc/containerd/config.toml", Binary: "/usr/bin/containerd"}}
	running.Buildkitd.Running = []Daemon{{Pid: 9, Config: "/etc/buildkit/buildkitd.toml"}}
	now := map[string]Apply{}
	for _, s := range Detect(running).Steps {
		now[s.Key()] = s.Apply
	}
	for _, s := range Detect(installed).Steps {
		a, ok := now[s.Key()]
		if !ok || a.Kind == ApplyNone {
			t.Errorf("step %s recorded while not running: not found among the running engines' steps (%v)", s.Target, now)
		}
	}
}
