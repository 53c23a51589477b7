package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// A 32-bit create rewrites config.json with its owner and mode, and
// leaves no temporary file, removing those of a wrapper killed mid-write
// (issue 17 item 10).
func TestRewriteKeepsOwnerAndLeavesNoTemp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the config another owner")
	}
	w := newWorld(t)
	dir, _ := bundle(t, i386Exe, nil)
	cfg := filepath.Join(dir, "config.json")
	if err := os.Chown(cfg, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, 0o640); err != nil {
		t.Fatal(err)
	}
	// A leftover of a wrapper that was killed: its process is gone.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".config.json.tmp-"+strconv.Itoa(dead.Process.Pid)+"-abc")
	live := filepath.Join(dir, ".config.json.tmp-"+strconv.Itoa(os.Getpid())+"-abc")
	for _, p := range []string{stale, live} {
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := w.prepare("create", "--bundle", dir, "c1")
	if err != nil || !plan.Linux32 {
		t.Fatalf("prepare: %+v, %v\n%s", plan, err, w.log.String())
	}
	var st unix.Stat_t
	if err := unix.Stat(cfg, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode&0o7777 != 0o640 {
		t.Errorf("rewritten config.json is %d:%d %o, want 1234:5678 640", st.Uid, st.Gid, st.Mode&0o7777)
	}
	if readSpec(t, dir).Linux.Personality == nil {
		t.Error("config.json not rewritten")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a dead writer's temporary file is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's temporary file was removed: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 { // config.json, rootfs and the live temp
		t.Errorf("bundle holds %v", ents)
	}
}
