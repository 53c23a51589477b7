// Package vm is armhf-shim's arm64 test bed: a real arm64 Linux kernel
// (Debian 12's) under qemu-system-aarch64, software-emulated on any host,
// running the project's arm64 and armhf binaries.
//
// The model: scripts/vm/assets.sh caches the kernel and a base initramfs
// (arm64 busybox at /bin/busybox, armhf busybox at /armhf/busybox, plus every
// Debian package listed in payload-debs.txt unpacked into /). The host test
// (vm_test.go) cross-builds the binaries, packs them with scripts/vm/init.sh
// as /init and the case scripts of cases/ as /cases/*.sh into a second
// archive, concatenates both into one initrd, and boots it once per QEMU CPU
// model (scripts/vm/boot.sh). The VM runs each case under a timeout, reports
// its stdout, stderr and exit status on the serial console in a line
// protocol, and powers off. [ParseSerial] turns the captured console text
// into a [Report]; the test's assertions are keyed by case name
// (checks_test.go and the *_checks_test.go files). A case without a
// registered check passes on exit 0, counts as skipped on exit 77 and fails
// otherwise.
//
// Adding a case: drop NAME.sh into cases/ (first line "# vm-timeout: SECS"
// to change the default of 60), optionally register a check for NAME.
// Adding Debian packages to the VM: list them in payload-debs.txt.
package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Report is what one boot of the VM said on its serial console.
type Report struct {
	// Started is true once /init printed @@VM-START; StartFields holds
	// that line's key=value fields (model, kernel, machine, nproc, uptime).
	Started     bool
	StartFields map[string]string
	// Done is true when /init got through every case (@@VM-DONE).
	Done  bool
	Cases []*CaseResult
}

// CaseResult is one case script's outcome.
type CaseResult struct {
	Name    string
	Timeout int  // seconds, as /init applied it
	Ended   bool // false: the VM died or hung while the case ran
	RC      int  // exit status (137 when the timeout killed it)
	Secs    float64
	Stdout  string
	Stderr  string
}

// Case returns the named case's result, or nil if it never ran.
func (r *Report) Case(name string) *CaseResult {
	for _, c := range r.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TimedOut reports whether /init's timeout killed the case (SIGKILL after
// the case's timeout).
func (c *CaseResult) TimedOut() bool {
	return c.Ended && c.RC == 128+9 && c.Timeout > 0 && c.Secs >= float64(c.Timeout)
}

// Output is the case's stdout followed by its stderr, for messages.
func (c *CaseResult) Output() string {
	return c.Stdout + c.Stderr
}

// ParseSerial parses the console text of one boot (see scripts/vm/init.sh
// for the protocol). Lines outside case blocks (kernel messages) are
// ignored; carriage returns added by the serial tty are dropped. A
// malformed protocol line is an error; a truncated log (VM died) is not:
// the report then says what did not finish.
func ParseSerial(text string) (*Report, error) {
	rep := &Report{}
	const (
		outside = iota
		header  // after @@RUN, before @@STDOUT
		stdout
		stderr
	)
	state := outside
	var cur *CaseResult
	var out, errb strings.Builder
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		fail := func(format string, args ...any) error {
			return fmt.Errorf("serial log line %d %q: %s", n+1, line, fmt.Sprintf(format, args...))
		}
		word, rest, _ := strings.Cut(line, " ")
		switch {
		case word == "@@VM-START" && state == outside:
			rep.Started = true
			rep.StartFields = fields(rest)
			continue
		case word == "@@VM-DONE" && state == outside:
			rep.Done = true
			continue
		case word == "@@RUN" && state == outside:
			name, kv, _ := strings.Cut(rest, " ")
			if name == "" {
				return nil, fail("@@RUN without a case name")
			}
			cur = &CaseResult{Name: name}
			if t, ok := fields(kv)["timeout"]; ok {
				cur.Timeout, _ = strconv.Atoi(t)
			}
			rep.Cases = append(rep.Cases, cur)
			out.Reset()
			errb.Reset()
			state = header
			continue
		case cur != nil && line == "@@STDOUT "+cur.Name && state == header:
			state = stdout
			continue
		case cur != nil && line == "@@STDERR "+cur.Name && state == stdout:
			cur.Stdout = out.String()
			state = stderr
			continue
		case cur != nil && word == "@@END" && strings.HasPrefix(rest, cur.Name+" ") && state == stderr:
			f := fields(strings.TrimPrefix(rest, cur.Name+" "))
			rc, err := strconv.Atoi(f["rc"])
			if err != nil {
				return nil, fail("bad rc: %v", err)
			}
			cur.RC = rc
			cur.Secs, _ = strconv.ParseFloat(f["secs"], 64)
			cur.Stderr = errb.String()
			cur.Ended = true
			cur = nil
			state = outside
			continue
		}
		switch state {
		case stdout:
			out.WriteString(line + "\n")
		case stderr:
			errb.WriteString(line + "\n")
		}
	}
	// A case cut short keeps what it printed.
	if cur != nil {
		if state == stdout {
			cur.Stdout = out.String()
		}
		if state == stderr {
			cur.Stderr = errb.String()
		}
	}
	return rep, nil
}

// fields splits "k1=v1 k2=v2" into a map.
func fields(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}
