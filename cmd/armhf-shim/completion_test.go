package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionCandidates: the scripts' source of truth is the app's
// --generate-bash-completion answer, including for the fast-path commands
// (hook must not wait for a state on stdin).
func TestCompletionCandidates(t *testing.T) {
	// urfave/cli reads the word before the cursor from os.Args, not from
	// Run's argument.
	saved := os.Args
	defer func() { os.Args = saved }()
	for _, c := range []struct {
		argv []string
		want []string
	}{
		{[]string{"armhf-shim", "--generate-bash-completion"}, []string{"exec", "doctor", "install", "completion"}},
		{[]string{"armhf-shim", "install", "--generate-bash-completion"}, []string{"docker", "containerd", "docker-cli"}},
	} {
		var out bytes.Buffer
		os.Args = c.argv
		app := newApp()
		app.Writer = &out
		if err := app.Run(c.argv); err != nil {
			t.Fatalf("%q: %v", c.argv, err)
		}
		lines := strings.Fields(out.String())
		for _, w := range c.want {
			if !contains(lines, w) {
				t.Errorf("%q: %q not among %q", c.argv, w, lines)
			}
		}
	}
}

// TestCompletionOfFastPath: completing after a fast-path command (hook
// reads a state on stdin) answers from the app instead of running it.
func TestCompletionOfFastPath(t *testing.T) {
	saved, savedIn := os.Args, os.Stdin
	defer func() { os.Args, os.Stdin = saved, savedIn }()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	os.Stdin = null
	os.Args = []string{"armhf-shim", "hook", "--generate-bash-completion"}
	if code := run(os.Args); code != 0 {
		t.Fatalf("exit %d: the hook ran instead of the completion", code)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestCompletionBash sources the bash script and completes `armhf-shim ins`
// through the real binary.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	shim := filepath.Join(dir, "armhf-shim")
	if out, err := exec.Command("go", "build", "-o", shim, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	script := filepath.Join(dir, "armhf-shim.bash")
	if err := os.WriteFile(script, []byte(bashCompletion), 0o644); err != nil {
		t.Fatal(err)
	}
	// _get_comp_words_by_ref comes from the bash-completion package; a
	// minimal stand-in keeps the test about the script's own logic.
	prog := `_get_comp_words_by_ref() { cur="${COMP_WORDS[COMP_CWORD]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source "$1"
COMP_WORDS=(armhf-shim install dock); COMP_CWORD=2
_armhf_shim_complete
printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command(bash, "-c", prog, "bash", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if strings.Join(got, " ") != "docker docker-cli" {
		t.Fatalf("completing `armhf-shim install dock`: %q", got)
	}
}
