package runcargs

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type corpusLine struct {
	What string   `json:"what"`
	Argv []string `json:"argv"`
}

func loadCorpus(t testing.TB) []corpusLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "runc", "argv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l corpusLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("argv.jsonl: %v", err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	dockerRoot = "/var/run/docker/runtime-runc/moby"
	cid        = "3ef5a5a63ed5ffc462f2af61a8d8677554ee819b9ce7917c794a3abf9911de11"
	taskDir    = "/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/" + cid
)

// want is what Parse must find in each captured command line.
type want struct {
	command, id, bundle, process string
	global                       Global
}

var dockerGlobal = Global{Root: dockerRoot, Log: taskDir + "/log.json", LogFormat: "json"}

func withGlobal(f func(*Global)) Global {
	g := dockerGlobal
	f(&g)
	return g
}

var corpusWant = map[string]want{
	"docker 20.10 via containerd-shim: create": {command: "create", id: cid, bundle: taskDir, global: dockerGlobal},
	"create with a tty (docker run -t)":        {command: "create", id: cid, bundle: taskDir, global: dockerGlobal},
	"systemd cgroup driver":                    {command: "create", id: cid, bundle: taskDir, global: withGlobal(func(g *Global) { g.SystemdCgroup = true })},
	"runtimeArgs from daemon.json come first":  {command: "create", id: cid, bundle: taskDir, global: withGlobal(func(g *Global) { g.Debug = true })},
	"start": {command: "start", global: dockerGlobal},
	"docker exec (no bundle; process spec in a file)": {command: "exec", id: cid, process: "/tmp/runc-process2361790788", global: dockerGlobal},
	"docker exec -t":                {command: "exec", id: cid, process: "/tmp/runc-process1465363267", global: dockerGlobal},
	"docker kill":                   {command: "kill", global: dockerGlobal},
	"docker stop":                   {command: "kill", global: dockerGlobal},
	"delete (long-lived shim)":      {command: "delete", id: cid, global: dockerGlobal},
	"delete --force (cleanup shim)": {command: "delete", id: cid, global: dockerGlobal},
	"docker top":                    {command: "ps", global: dockerGlobal},
	"docker pause":                  {command: "pause", global: dockerGlobal},
	"docker unpause":                {command: "resume", global: dockerGlobal},
	"docker update":                 {command: "update", global: dockerGlobal},
	"dockerd probes the runtime at start and on docker info": {command: "", global: Global{LogFormat: "text"}},
	"BuildKit embedded in dockerd 20.10 runs `runc` from dockerd's PATH, not the configured runtime": {
		command: "run", id: "k2xq9tq4m5l3r8w1e7y6u0i2o", bundle: "/var/lib/docker/buildkit/executor/k2xq9tq4m5l3r8w1e7y6u0i2o",
		global: Global{Log: "/var/lib/docker/buildkit/executor/runc-log.json", LogFormat: "json"},
	},
}

func TestParseCorpus(t *testing.T) {
	lines := loadCorpus(t)
	if len(lines) < len(corpusWant) {
		t.Fatalf("corpus has %d lines, the table %d", len(lines), len(corpusWant))
	}
	for _, l := range lines {
		t.Run(l.What, func(t *testing.T) {
			w, ok := corpusWant[l.What]
			if !ok {
				t.Fatalf("no expectation for corpus line %q", l.What)
			}
			inv, err := Parse(l.Argv)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Command != w.command || inv.ContainerID != w.id || inv.Bundle != w.bundle || inv.Process != w.process {
				t.Errorf("got command=%q id=%q bundle=%q process=%q, want %q %q %q %q",
					inv.Command, inv.ContainerID, inv.Bundle, inv.Process, w.command, w.id, w.bundle, w.process)
			}
			if inv.Global != w.global {
				t.Errorf("global = %+v, want %+v", inv.Global, w.global)
			}
			if len(inv.Unknown) != 0 || len(inv.UnknownGlobal) != 0 {
				t.Errorf("unknown flags %v %v in a real command line", inv.UnknownGlobal, inv.Unknown)
			}
			// Nothing of ours in the corpus: the argv goes through unchanged.
			if !reflect.DeepEqual(inv.Args, l.Argv) {
				t.Errorf("Args changed:\n got %q\nwant %q", inv.Args, l.Argv)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		want Invocation
	}{
		{"bundle short", []string{"create", "-b", "/b", "id1"},
			Invocation{Command: "create", Bundle: "/b", ContainerID: "id1"}},
		{"bundle equals", []string{"create", "--bundle=/b", "id1"},
			Invocation{Command: "create", Bundle: "/b", ContainerID: "id1"}},
		{"bundle single dash long", []string{"run", "-bundle", "/b", "id1"},
			Invocation{Command: "run", Bundle: "/b", ContainerID: "id1"}},
		{"bundle short equals", []string{"run", "-b=/b", "id1"},
			Invocation{Command: "run", Bundle: "/b", ContainerID: "id1"}},
		{"no bundle means cwd", []string{"run", "--detach", "id1"},
			Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=false", []string{"run", "-d=false", "id1"},
			Invocation{Command: "run", ContainerID: "id1"}},
		// runc's bool flags take every spelling of strconv.ParseBool.
		{"detach=t", []string{"run", "-d=t", "id1"}, Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=T", []string{"run", "-d=T", "id1"}, Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=TRUE", []string{"run", "-d=TRUE", "id1"}, Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=True", []string{"run", "--detach=True", "id1"}, Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=1", []string{"run", "-d=1", "id1"}, Invocation{Command: "run", ContainerID: "id1", Detach: true}},
		{"detach=F", []string{"run", "-d=F", "id1"}, Invocation{Command: "run", ContainerID: "id1"}},
		{"detach=0", []string{"run", "--detach=0", "id1"}, Invocation{Command: "run", ContainerID: "id1"}},
		{"exec detach=T", []string{"exec", "-d=T", "id1", "sh"}, Invocation{Command: "exec", ContainerID: "id1", Detach: true}},
		{"flags after id (urfave/cli reorders)", []string{"create", "id1", "--bundle", "/b", "--pid-file", "/p"},
			Invocation{Command: "create", Bundle: "/b", ContainerID: "id1"}},
		{"value that looks like an id", []string{"create", "--console-socket", "sock", "--bundle", "/b", "id1"},
			Invocation{Command: "create", Bundle: "/b", ContainerID: "id1"}},
		{"bool global =false", []string{"--debug=false", "--systemd-cgroup=true", "start", "id1"},
			Invocation{Command: "start", Global: Global{SystemdCgroup: true}}},
		{"single-dash globals", []string{"-root", "/r", "-log=/l", "-log-format", "json", "delete", "-f", "id1"},
			Invocation{Command: "delete", ContainerID: "id1", Global: Global{Root: "/r", Log: "/l", LogFormat: "json"}}},
		{"rootless and criu take values", []string{"--rootless", "auto", "--criu", "/c", "run", "id1"},
			Invocation{Command: "run", ContainerID: "id1", Global: Global{Rootless: "auto", Criu: "/c"}}},
		{"double dash before command", []string{"--root", "/r", "--", "state", "id1"},
			Invocation{Command: "state", Global: Global{Root: "/r"}}},
		{"exec stops at the id", []string{"exec", "-t", "id1", "sh", "-c", "--bundle", "x"},
			Invocation{Command: "exec", ContainerID: "id1"}},
		{"exec process equals", []string{"exec", "--process=/p.json", "--detach", "id1"},
			Invocation{Command: "exec", ContainerID: "id1", Process: "/p.json", Detach: true}},
		{"exec -p", []string{"exec", "-p", "/p.json", "id1"},
			Invocation{Command: "exec", ContainerID: "id1", Process: "/p.json"}},
		{"version", []string{"--version"}, Invocation{}},
		{"empty", nil, Invocation{}},
		{"features", []string{"features"}, Invocation{Command: "features"}},
		{"passthrough commands are not read", []string{"kill", "--all", "id1", "9"}, Invocation{Command: "kill"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := Parse(c.argv)
			if err != nil {
				t.Fatal(err)
			}
			if c.want.Global.LogFormat == "" {
				c.want.Global.LogFormat = "text"
			}
			if inv.Command != c.want.Command || inv.Bundle != c.want.Bundle || inv.ContainerID != c.want.ContainerID ||
				inv.Process != c.want.Process || inv.Global != c.want.Global || inv.Detach != c.want.Detach {
				t.Errorf("got %+v\nwant %+v", *inv, c.want)
			}
			if len(inv.Unknown) != 0 || len(inv.UnknownGlobal) != 0 {
				t.Errorf("unknown = %v %v", inv.UnknownGlobal, inv.Unknown)
			}
			if len(c.argv) > 0 && !reflect.DeepEqual(inv.Args, c.argv) {
				t.Errorf("Args = %q, want the original %q", inv.Args, c.argv)
			}
		})
	}
}

func TestParseShimFlagsStripped(t *testing.T) {
	argv := []string{"--armhf-shim-runtime", "/usr/bin/crun", "--armhf-shim-state-root=/run/x",
		"--debug", "-armhf-shim-config=/etc/a.json", "--root", "/r", "create", "--bundle", "/b", "id1"}
	inv, err := Parse(argv)
	if err != nil {
		t.Fatal(err)
	}
	want := Shim{Runtime: "/usr/bin/crun", StateRoot: "/run/x", Config: "/etc/a.json"}
	if inv.Shim != want {
		t.Errorf("shim = %+v, want %+v", inv.Shim, want)
	}
	wantArgs := []string{"--debug", "--root", "/r", "create", "--bundle", "/b", "id1"}
	if !reflect.DeepEqual(inv.Args, wantArgs) {
		t.Errorf("Args = %q, want %q", inv.Args, wantArgs)
	}
	if !inv.Global.Debug || inv.Global.Root != "/r" || inv.Bundle != "/b" || inv.ContainerID != "id1" {
		t.Errorf("parsed %+v", inv)
	}
	// Only global position counts: after the command it is runc's problem.
	inv, err = Parse([]string{"create", "--armhf-shim-runtime=/x", "id1"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Shim.Runtime != "" || len(inv.Unknown) != 1 {
		t.Errorf("command-position shim flag: shim=%+v unknown=%v", inv.Shim, inv.Unknown)
	}
}

func TestParseShimFlagErrors(t *testing.T) {
	for _, argv := range [][]string{
		{"--armhf-shim-runtime"},
		{"--armhf-shim-runtime="},
		{"--armhf-shim-state-root", ""},
		// Docker puts runtimeArgs before its own flags: a value-less
		// wrapper flag must not swallow --root.
		{"--armhf-shim-runtime", "--root", "/var/run/docker/runtime-runc/moby", "--log", "l.json", "create", "c"},
		{"--armhf-shim-config", "-log", "l.json", "start", "c"},
		{"--armhf-shim-state-root=--root", "start", "c"},
	} {
		_, err := Parse(argv)
		if err == nil || !strings.Contains(err.Error(), "--"+strings.TrimLeft(strings.SplitN(argv[0], "=", 2)[0], "-")) {
			t.Errorf("Parse(%q) err = %v, want an error naming the flag", argv, err)
		}
	}
}

// TestLogFlags: after a parse error the logging flags are still found in
// the rest of the command line, so the error reaches runc's log file.
func TestLogFlags(t *testing.T) {
	cases := []struct {
		argv        []string
		log, format string
	}{
		{[]string{"--armhf-shim-runtime=", "--root", "/r", "--log", "/l.json", "--log-format", "json", "create", "c"}, "/l.json", "json"},
		{[]string{"--armhf-shim-runtime", "--root", "/r", "--log", "/l.json", "--log-format", "json", "create", "c"}, "/l.json", "json"},
		{[]string{"--armhf-shim-config", "-log=/l", "-log-format=json", "start"}, "/l", "json"},
		{[]string{"--armhf-shim-config", "--log", "/l", "start", "--log", "/other"}, "/l", "text"},
		{[]string{"--armhf-shim-config", "--", "--log", "/l"}, "", "text"},
		{[]string{"--armhf-shim-config"}, "", "text"},
		{[]string{"--armhf-shim-config", "--log"}, "", "text"},
	}
	for _, c := range cases {
		log, format := LogFlags(c.argv)
		if log != c.log || format != c.format {
			t.Errorf("LogFlags(%q) = %q %q, want %q %q", c.argv, log, format, c.log, c.format)
		}
	}
}

func TestParseUnknownFlags(t *testing.T) {
	// crun's --cgroup-manager as a runtimeArg: unknown, but the command is
	// still found because the guess never swallows a command name.
	inv, _ := Parse([]string{"--cgroup-manager", "systemd", "--root", "/r", "create", "--bundle", "/b", "id1"})
	if inv.Command != "create" || inv.Bundle != "/b" || inv.Global.Root != "/r" || inv.ContainerID != "id1" ||
		len(inv.UnknownGlobal) != 1 || len(inv.Unknown) != 0 {
		t.Errorf("got %+v", inv)
	}
	inv, _ = Parse([]string{"--weird", "create", "--bundle", "/b", "id1"})
	if inv.Command != "create" || inv.ContainerID != "id1" || len(inv.UnknownGlobal) != 1 || len(inv.Unknown) != 0 {
		t.Errorf("bool-like unknown global: %+v", inv)
	}
	inv, _ = Parse([]string{"create", "--frobnicate", "--bundle", "/b", "id1"})
	if len(inv.Unknown) != 1 || inv.Unknown[0] != "--frobnicate" {
		t.Errorf("unknown create flag not reported: %+v", inv)
	}
	inv, _ = Parse([]string{"--debug=maybe", "start", "id1"})
	if len(inv.UnknownGlobal) != 1 || inv.Global.Debug {
		t.Errorf("bad bool: %+v", inv)
	}
	inv, _ = Parse([]string{"run", "-d=maybe", "id1"})
	if len(inv.Unknown) != 1 || inv.Unknown[0] != "-d=maybe" || inv.Detach {
		t.Errorf("bad -d bool (runc rejects it): %+v", inv)
	}
}

// An unknown global flag's guessed value is the next argument the real
// runtime sees: armhf-shim's own flags in between are removed from the argv
// first, so the facts Parse reports are those of the argv it hands on
// (found by FuzzParse's property).
func TestParseUnknownGlobalBeforeShimFlag(t *testing.T) {
	for _, argv := range [][]string{
		{"--cgroup-manager", "--armhf-shim-runtime=/usr/sbin/runc", "systemd", "create", "id1"},
		{"--cgroup-manager", "--armhf-shim-runtime", "/usr/sbin/runc", "--armhf-shim-config=/c", "systemd", "create", "id1"},
	} {
		inv, err := Parse(argv)
		if err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		wantArgs := []string{"--cgroup-manager", "systemd", "create", "id1"}
		if inv.Command != "create" || inv.ContainerID != "id1" || inv.Shim.Runtime != "/usr/sbin/runc" ||
			!reflect.DeepEqual(inv.Args, wantArgs) {
			t.Errorf("%q: got command %q id %q runtime %q args %q; want create, id1, /usr/sbin/runc, %q",
				argv, inv.Command, inv.ContainerID, inv.Shim.Runtime, inv.Args, wantArgs)
		}
	}
	if _, err := Parse([]string{"--cgroup-manager", "--armhf-shim-runtime"}); err == nil {
		t.Error("a shim flag without its value after an unknown flag was accepted")
	}
}

// TestParseMissingValueAtEnd: a global flag whose value is missing is
// forwarded once, as given, for runc to reject; it must not turn into
// another argv (`runc --root --root` prints help and exits 0).
func TestParseMissingValueAtEnd(t *testing.T) {
	cases := []struct {
		argv, want []string
	}{
		{[]string{"--root"}, []string{"--root"}},
		{[]string{"--log"}, []string{"--log"}},
		{[]string{"--log-format"}, []string{"--log-format"}},
		{[]string{"-criu"}, []string{"-criu"}},
		{[]string{"--debug", "--root", "/r", "--log"}, []string{"--debug", "--root", "/r", "--log"}},
		{[]string{"--armhf-shim-state-root", "/s", "--log-format"}, []string{"--log-format"}},
	}
	for _, c := range cases {
		inv, err := Parse(c.argv)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.argv, err)
			continue
		}
		if !reflect.DeepEqual(inv.Args, c.want) || inv.Command != "" {
			t.Errorf("Parse(%q): Args %q command %q, want %q and no command", c.argv, inv.Args, inv.Command, c.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{
		cid: true, "a.b-c_d+e": true, "k2xq9tq4m5l3r8w1e7y6u0i2o": true,
		"": false, ".": false, "..": false, "../x": false, "a/b": false, "a b": false, "a\x00": false,
	} {
		if ValidID(id) != ok {
			t.Errorf("ValidID(%q) = %v", id, !ok)
		}
	}
}
