//go:build cgo && linux

package main

import (
	"io"
	"strings"
	"testing"
)

// TestHelpStatesNestingRisk: the security trade-off of --nesting is in the
// help a user reads before using it.
func TestHelpStatesNestingRisk(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"armhf-lxc", "create", "--help"}, &out, io.Discard); code != 0 {
		t.Fatalf("create --help: exit %d", code)
	}
	for _, w := range []string{"SECURITY", "take over the host", "trusted", "--nesting", "--docker", "--rootfs", "--cpus", "--network"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("create --help lacks %q:\n%s", w, out.String())
		}
	}
}
