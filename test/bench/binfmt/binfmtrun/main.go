// Command binfmtrun runs a command with a binfmt_misc handler registered
// for it alone: started by binfmt.Command in a user and mount namespace of
// its own, it mounts a fresh binfmt_misc instance, registers the handler,
// runs the command and removes the handler again, also when the command
// fails or binfmtrun is interrupted (SIGINT, SIGTERM and SIGHUP go to the
// command's process group, then the handler is removed).
//
//	binfmtrun -handler ':name:M::magic:mask:interpreter:flags' -- CMD [ARG...]
//
// It exits with the command's status (128+N for a signal N); 125 when the
// handler could not be registered or was still there afterwards.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/test/bench/binfmt"
)

func main() {
	line := flag.String("handler", "", "the register line of the handler")
	flag.Parse()
	argv := flag.Args()
	if *line == "" || len(argv) == 0 {
		fail("usage: binfmtrun -handler LINE -- CMD [ARG...]")
	}
	h, err := binfmt.Parse(*line)
	if err != nil {
		fail(err.Error())
	}
	if err := privateInstance(); err != nil {
		fail(err.Error())
	}
	// Caught from before the handler exists, so no signal can end
	// binfmtrun between registering and removing it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	var cmdErr error
	ran := false
	err = binfmt.With(binfmt.Dir, h, func() error {
		ran = true
		cmdErr = run(argv, sigs)
		return cmdErr
	})
	if !ran || binfmt.Registered(binfmt.Dir, h.Name) {
		fail(fmt.Sprintf("%v (handler %s registered: %v)", err, h.Name, binfmt.Registered(binfmt.Dir, h.Name)))
	}
	var exit *exec.ExitError
	switch {
	case cmdErr == nil:
		os.Exit(0)
	case errors.As(cmdErr, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(exit.ExitCode())
	}
	fmt.Fprintln(os.Stderr, "binfmtrun:", cmdErr)
	os.Exit(127)
}

// privateInstance checks that binfmtrun runs in a user namespace of its
// own — in the initial one the handler would take every matching binary
// on the machine — and mounts that namespace's binfmt_misc instance.
func privateInstance() error {
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return err
	}
	if f := strings.Fields(string(m)); len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295" {
		return errors.New("refusing to register in the initial user namespace's binfmt_misc: start binfmtrun with binfmt.Command")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mounts private: %w", err)
	}
	if err := unix.Mount("binfmt_misc", binfmt.Dir, "binfmt_misc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting a binfmt_misc instance on %s (Linux 6.7 or later): %w", binfmt.Dir, err)
	}
	return nil
}

// run runs argv in a process group of its own and passes it the signals
// binfmtrun receives.
func run(argv []string, sigs <-chan os.Signal) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				syscall.Kill(-cmd.Process.Pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return cmd.Wait()
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "binfmtrun:", msg)
	os.Exit(125)
}
