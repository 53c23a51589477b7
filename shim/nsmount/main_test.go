package nsmount

import (
	"os"
	"os/exec"
	"testing"
)

// TestMain runs the tests, as root, in a private mount namespace of their
// own: the procfs and cpuinfo mounts they make then die with the test
// process, whatever other tests running meanwhile do to mount propagation
// (under make test, mounts made in the host's namespace were sometimes left
// behind under /tmp).
func TestMain(m *testing.M) {
	const marker = "ARMHF_SHIM_NSMOUNT_PRIVATE_NS"
	if os.Geteuid() == 0 && os.Getenv(marker) == "" {
		if unshare, err := exec.LookPath("unshare"); err == nil {
			cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", os.Args[0]}, os.Args[1:]...)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			cmd.Env = append(os.Environ(), marker+"=1")
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			if err != nil {
				os.Stderr.WriteString("nsmount tests: " + err.Error() + "\n")
				os.Exit(2)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}
