package shim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runclog"
	"github.com/armhf-shim/armhf-shim/uname"
)

func TestPassNoCompat(t *testing.T) {
	for _, c := range []struct {
		rule               detect.Rule
		readable, emulated bool
		want               bool
	}{
		{detect.RuleAuto, true, true, true},        // QEMU runs it
		{detect.RuleAuto, false, false, true},      // cannot tell: as before
		{detect.RuleAuto, true, false, false},      // nothing can run it: refuse
		{detect.RuleAnnotation, true, true, false}, // asked for explicitly
		{detect.RuleAnnotation, false, false, false},
	} {
		if got := passNoCompat(c.rule, c.readable, c.emulated); got != c.want {
			t.Errorf("passNoCompat(%v, readable %v, emulated %v) = %v, want %v", c.rule, c.readable, c.emulated, got, c.want)
		}
	}
}

// On a host without a 32-bit mode (arm64 without AArch32 at EL0) an
// auto-detected 32-bit image is refused, saying why, unless binfmt_misc
// has an emulator for it; the bundle is left as it was either way.
func TestCreateOnHostWithoutCompat(t *testing.T) {
	for _, c := range []struct {
		name               string
		readable, emulated bool
		wantErr            bool
	}{
		{"no emulator", true, false, true},
		{"qemu registered", true, true, false},
		{"binfmt_misc not mounted", false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			dir, config := bundle(t, i386Exe, nil)
			env := w.Env()
			env.CanLinux32 = func() error { return &uname.NoCompatError{Machine: "x86_64", Err: syscall.EINVAL} }
			env.Binfmt = func() (bool, bool) { return c.readable, c.emulated }
			inv, err := runcargs.Parse([]string{"--armhf-shim-state-root", w.stateRoot, "--root", w.runcRoot, "create", "--bundle", dir, "c1"})
			if err != nil {
				t.Fatal(err)
			}
			l := runclog.New("", "json", true)
			l.Stderr = &w.log
			plan, err := Prepare(inv, env, l)
			if c.wantErr {
				var nc *uname.NoCompatError
				if err == nil || !errors.As(err, &nc) || !strings.Contains(err.Error(), "cannot run 32-bit code natively") ||
					!strings.Contains(err.Error(), "binfmt_misc") {
					t.Errorf("err = %v, want the no-compat refusal naming binfmt_misc", err)
				}
			} else if err != nil || plan.Linux32 {
				t.Errorf("err = %v, Linux32 %v: want the container passed through unchanged", err, plan.Linux32)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(got) != string(config) {
				t.Errorf("config.json changed:\n%s", got)
			}
		})
	}
}
