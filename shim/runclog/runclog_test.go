package runclog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var fixed = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 5, time.UTC) }

// lastRuntimeError is containerd's getLastRuntimeError (pkg/process/utils.go):
// the msg of the last line whose level is "error".
func lastRuntimeError(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msg string
	dec := json.NewDecoder(f)
	for {
		var l struct{ Level, Msg, Time string }
		if err := dec.Decode(&l); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("log is not json lines: %v", err)
			}
			break
		}
		if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil {
			t.Errorf("time %q: %v", l.Time, err)
		}
		if l.Level == "error" {
			msg = l.Msg
		}
	}
	return msg
}

func TestJSONFileAsContainerdReadsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	// runc's own earlier line is kept: the file is appended to.
	os.WriteFile(path, []byte(`{"level":"info","msg":"earlier","time":"2026-11-23T12:00:00Z"}`+"\n"), 0o644)
	var stderr bytes.Buffer
	l := New(path, "json", false)
	l.Stderr, l.Now = &stderr, fixed
	l.Debugf("not written without --debug")
	l.Warnf("a warning")
	l.Errorf("real OCI runtime %q: %s", "/x", "no such file")
	l.Close()
	if got := lastRuntimeError(t, path); got != `armhf-shim: real OCI runtime "/x": no such file` {
		t.Errorf("containerd would show %q", got)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "not written") || !strings.HasPrefix(string(b), `{"level":"info","msg":"earlier"`) {
		t.Errorf("log file:\n%s", b)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr got %q", stderr.String())
	}
}

func TestDebugAndText(t *testing.T) {
	var stderr bytes.Buffer
	l := New("", "text", true)
	l.Stderr, l.Now = &stderr, fixed
	l.Debugf("decision: %s", "enable")
	l.Errorf("plain")
	sc := bufio.NewScanner(&stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	want := []string{
		`time="2026-11-23T12:00:00.000000005Z" level=debug msg="armhf-shim: decision: enable"`,
		`time="2026-11-23T12:00:00.000000005Z" level=error msg="armhf-shim: plain"`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnopenableLogFallsBackToStderr(t *testing.T) {
	var stderr bytes.Buffer
	l := New(filepath.Join(t.TempDir(), "no", "such", "dir", "log.json"), "json", false)
	l.Stderr, l.Now = &stderr, fixed
	l.Errorf("boom")
	if !strings.Contains(stderr.String(), "cannot open log file") || !strings.Contains(stderr.String(), `"msg":"armhf-shim: boom"`) {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestNoFileWithoutLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	l := New(path, "json", false)
	l.Debugf("x")
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("log file created without a line: %v", err)
	}
}

// A JSON line is byte for byte what encoding/json writes for the entry
// (HTML escaping off), whatever the message holds.
func TestJSONLineMatchesEncodingJSON(t *testing.T) {
	for _, msg := range []string{"plain", `quote " back \ nl` + "\n tab\t", "<&> \u2028 é", "bad \xff utf8", "\x00\x1f"} {
		var stderr bytes.Buffer
		l := New("", "json", false)
		l.Stderr, l.Now = &stderr, fixed
		l.Errorf("%s", msg)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{"error", "armhf-shim: " + msg, fixed().Format(time.RFC3339Nano)})
		if stderr.String() != want.String() {
			t.Errorf("%q: wrote %s, encoding/json %s", msg, stderr.Bytes(), want.Bytes())
		}
	}
}

// TestFatalAlsoOnStderr: as runc's fatal, the last error goes to the --log
// file and to stderr (BuildKit shows only stderr); without --log it is
// written once, to stderr.
func TestFatalAlsoOnStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	var stderr bytes.Buffer
	l := New(path, "json", false)
	l.Stderr, l.Now = &stderr, fixed
	l.Fatalf("cannot run %s", "32-bit code")
	l.Close()
	if got := lastRuntimeError(t, path); got != "armhf-shim: cannot run 32-bit code" {
		t.Errorf("log file's last error = %q", got)
	}
	if got := stderr.String(); got != "armhf-shim: cannot run 32-bit code\n" {
		t.Errorf("stderr = %q, want the message once", got)
	}

	stderr.Reset()
	l = New("", "text", false)
	l.Stderr, l.Now = &stderr, fixed
	l.Fatalf("no runc")
	if got, want := stderr.String(), `time="2026-11-23T12:00:00.000000005Z" level=error msg="armhf-shim: no runc"`+"\n"; got != want {
		t.Errorf("without --log stderr = %q, want only the log line %q", got, want)
	}
}
