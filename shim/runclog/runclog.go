// Package runclog writes log lines the way runc does, to where runc would.
//
// The model: an OCI runtime's stdout belongs to its caller (containerd and
// go-runc parse it for state and ps), so the wrapper never prints there.
// runc logs to the file of its --log flag (stderr without one) in the
// format of --log-format: "json" lines {"level":...,"msg":...,"time":...}
// or logrus text (time="..." level=... msg="..."). containerd's shim reads
// the last "error" line of that file into the error Docker shows ("OCI
// runtime create failed: <msg>"), so an error of the wrapper written here
// reaches the user exactly as runc's own would. Debug lines are written
// only with --debug. The file is opened on the first line written, so a
// wrapper that logs nothing never touches it.
package runclog

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// Logger writes runc-style log lines.
type Logger struct {
	path   string // "" = Stderr
	json   bool
	debug  bool
	w      io.Writer
	opened bool
	// Stderr is where lines go without --log (and where a log file that
	// cannot be opened is reported).
	Stderr io.Writer
	// Now is the clock (for tests).
	Now func() time.Time
}

// New returns a logger for runc's --log, --log-format and --debug.
func New(path, format string, debug bool) *Logger {
	return &Logger{path: path, json: format == "json", debug: debug, Stderr: os.Stderr, Now: time.Now}
}

// Debugf logs at debug level (only with --debug).
func (l *Logger) Debugf(format string, args ...any) {
	if l.debug {
		l.log("debug", fmt.Sprintf(format, args...))
	}
}

// Warnf logs at warning level.
func (l *Logger) Warnf(format string, args ...any) { l.log("warning", fmt.Sprintf(format, args...)) }

// Errorf logs at error level.
func (l *Logger) Errorf(format string, args ...any) { l.log("error", fmt.Sprintf(format, args...)) }

// Fatalf is the wrapper's last word before it exits non-zero, as runc's
// fatal: the error line in the log, and the message on stderr too when the
// log is a file. Callers that read only runc's stderr (BuildKit's runc
// executor passes it on as the RUN step's output and never reads --log)
// see why, as they would with runc.
func (l *Logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log("error", msg)
	if l.w != l.Stderr {
		fmt.Fprintln(l.Stderr, "armhf-shim: "+msg)
	}
}

func (l *Logger) writer() io.Writer {
	if l.opened {
		return l.w
	}
	l.opened = true
	l.w = l.Stderr
	if l.path != "" {
		// As runc opens it: append, create, synchronous.
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			fmt.Fprintf(l.Stderr, "armhf-shim: cannot open log file %s: %v\n", l.path, err)
		} else {
			l.w = f
		}
	}
	return l.w
}

// Close closes the log file (before exec; it is not close-on-exec safe to
// leave it to the runtime).
func (l *Logger) Close() {
	if f, ok := l.w.(*os.File); ok && f != l.Stderr {
		f.Close()
	}
	l.opened, l.w = false, nil
}

func (l *Logger) log(level, msg string) {
	msg = "armhf-shim: " + msg
	ts := l.Now().Format(time.RFC3339Nano)
	var line []byte
	if l.json {
		// As encoding/json writes the struct {level, msg, time}, HTML
		// escaping off.
		line = append(line, `{"level":`...)
		line = rawjson.AppendString(line, level)
		line = append(line, `,"msg":`...)
		line = rawjson.AppendString(line, msg)
		line = append(line, `,"time":`...)
		line = rawjson.AppendString(line, ts)
		line = append(line, "}\n"...)
	} else {
		line = append(line, "time="+quote(ts)+" level="+level+" msg="+quote(msg)+"\n"...)
	}
	l.writer().Write(line)
}

// quote quotes a text value as logrus does: unless it is made only of
// letters, digits and -._/@^+.
func quote(s string) string {
	needs := s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._/@^+", r))
	})
	if needs {
		return strconv.Quote(s)
	}
	return s
}
