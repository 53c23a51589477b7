package testenv

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo answers what scripts/engines.sh asks the go command: its
// environment, a module's directory (made under $FAKE_SRC), and builds,
// which it logs to $FAKE_LOG and which write each binary (or, with
// $FAKE_FAIL set, write one and fail, as a killed build would).
const fakeGo = `#!/bin/sh
case "$1 $2" in
"env GOARCH") echo amd64 ;;
"env GOHOSTARCH") echo amd64 ;;
"env GOVERSION") echo "${FAKE_GOVERSION:-go1.0}" ;;
"mod download")
  m=${4%@*}; d=$FAKE_SRC/${m##*/}; mkdir -p "$d"
  printf '{\n\t"Path": "%s",\n\t"Dir": "%s",\n\t"Sum": "h1:x"\n}\n' "$m" "$d" ;;
"build "*)
  shift; while [ "$1" != -o ]; do shift; done; out=$2; shift 2
  echo "GOARCH=$GOARCH CGO_ENABLED=$CGO_ENABLED CC=$CC $*" >>"$FAKE_LOG"
  for p in "$@"; do
    n=${p##*/}; [ "$p" = . ] && n=${PWD##*/}
    echo "$GOARCH" >"$out$n"
    [ -z "$FAKE_FAIL" ] || exit 1
  done ;;
*) echo "fake go: unexpected $*" >&2; exit 3 ;;
esac
`

// scripts/engines.sh builds each engine once, prints only the binaries
// asked for, rebuilds a build that was killed (no stamp) or whose recipe
// changed, keeps architectures apart, and refuses unknown names. Steps
// run in order against one cache, with a fake go on PATH.
func TestEnginesScript(t *testing.T) {
	bash := RequireCommand(t, "bash")
	RequireCommand(t, "flock")
	dir := t.TempDir()
	for _, d := range []string{"scripts", "bin", "src"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	script, err := os.ReadFile(EnginesScript())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("scripts/engines.sh", string(script), 0o755)
	write("scripts/engines.versions", `# test engines
containerd v9.0.0 example.com/containerd/v9 cmd/containerd cmd/ctr  # three binaries
crictl     v1.2.3 example.com/cri-tools     cmd/crictl
runc       v4.5.6 example.com/runc          .
`, 0o644)
	write("bin/go", fakeGo, 0o755)
	log := filepath.Join(dir, "build.log")

	cache := filepath.Join(dir, ".cache", "engines")
	for _, step := range []struct {
		name       string
		args       []string
		env        []string
		wantOut    []string // relative to .cache/engines
		wantExit   int
		wantBuilds int // lines in the build log after the step
		wantLog    string
	}{
		{"first-build", []string{"crictl"}, nil, []string{"amd64/crictl-v1.2.3/crictl"}, 0, 1, "CGO_ENABLED=0"},
		{"built-already", []string{"crictl"}, nil, []string{"amd64/crictl-v1.2.3/crictl"}, 0, 1, ""},
		{"one-binary-builds-the-engine", []string{"ctr"}, nil, []string{"amd64/containerd-v9.0.0/ctr"}, 0, 2, "./cmd/containerd ./cmd/ctr"},
		{"engine-prints-all", []string{"containerd", "crictl"}, nil, []string{"amd64/containerd-v9.0.0/containerd", "amd64/containerd-v9.0.0/ctr", "amd64/crictl-v1.2.3/crictl"}, 0, 2, ""},
		{"killed-build", []string{"runc"}, []string{"FAKE_FAIL=1"}, nil, 1, 3, ""},
		{"killed-build-rebuilds", []string{"runc"}, nil, []string{"amd64/runc-v4.5.6/runc"}, 0, 4, "CGO_ENABLED=1 CC= "},
		{"new-go-rebuilds", []string{"crictl"}, []string{"FAKE_GOVERSION=go2.0"}, []string{"amd64/crictl-v1.2.3/crictl"}, 0, 5, ""},
		{"other-arch", []string{"runc"}, []string{"GOARCH=arm64"}, []string{"arm64/runc-v4.5.6/runc"}, 0, 6, "GOARCH=arm64 CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc"},
		{"unknown", []string{"dockerd"}, nil, nil, 2, 6, ""},
	} {
		t.Run(step.name, func(t *testing.T) {
			cmd := exec.Command(bash, append([]string{filepath.Join(dir, "scripts", "engines.sh")}, step.args...)...)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+":/usr/bin:/bin",
				"FAKE_SRC="+filepath.Join(dir, "src"), "FAKE_LOG="+log, "GOARCH=", "FAKE_FAIL=", "FAKE_GOVERSION=")
			cmd.Env = append(cmd.Env, step.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if code := cmd.ProcessState.ExitCode(); code != step.wantExit {
				t.Fatalf("exit %d (%v), want %d; stderr:\n%s", code, err, step.wantExit, stderr.String())
			}
			var want []string
			for _, p := range step.wantOut {
				want = append(want, filepath.Join(cache, p))
			}
			if got := strings.Fields(string(out)); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("printed %q, want %q", got, want)
			}
			b, _ := os.ReadFile(log)
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(b) == 0 {
				lines = nil
			}
			if len(lines) != step.wantBuilds {
				t.Fatalf("%d builds, want %d; log:\n%s", len(lines), step.wantBuilds, b)
			}
			if step.wantLog != "" && !strings.Contains(lines[len(lines)-1], step.wantLog) {
				t.Errorf("last build %q lacks %q", lines[len(lines)-1], step.wantLog)
			}
			for _, p := range want {
				if b, err := os.ReadFile(p); err != nil || strings.TrimSpace(string(b)) != filepath.Base(filepath.Dir(filepath.Dir(p))) {
					t.Errorf("%s: %q %v, want a binary built for its directory's GOARCH", p, b, err)
				}
			}
		})
	}
}

// Engine builds the pinned runc and crictl for this machine (cgo against
// libseccomp for runc): static binaries of the pinned versions.
func TestEngine(t *testing.T) {
	for _, tc := range []struct{ name, versionArg, want string }{
		{"runc", "--version", "runc version " + strings.TrimPrefix(EngineVersion(t, "runc"), "v")},
		{"crictl", "--version", "crictl version " + EngineVersion(t, "crictl")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := Engine(t, tc.name)
			out, err := exec.Command(bin, tc.versionArg).CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s %s: %v\n%s\nwant %q", bin, tc.versionArg, err, out, tc.want)
			}
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s has a program interpreter: not static", bin)
				}
			}
			if again := Engine(t, tc.name); again != bin {
				t.Errorf("second Engine(%s) = %s, want %s", tc.name, again, bin)
			}
		})
	}
}
