package vm

import (
	"os"
	"testing"
)

// testdata/serial-sample.log is a real console capture of one boot with
// three cases: one failing, one killed by its 3 s timeout, one printing
// without a final newline.
func TestParseSerialRealLog(t *testing.T) {
	b, err := os.ReadFile("testdata/serial-sample.log")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ParseSerial(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Started || !rep.Done {
		t.Fatalf("started=%v done=%v", rep.Started, rep.Done)
	}
	if rep.StartFields["model"] != "cortex-a72" || rep.StartFields["nproc"] != "2" || rep.StartFields["machine"] != "aarch64" {
		t.Errorf("start fields %v", rep.StartFields)
	}
	want := []CaseResult{
		{Name: "fail", Timeout: 60, Ended: true, RC: 3, Secs: 0.04, Stdout: "one\n", Stderr: "two\n"},
		{Name: "hang", Timeout: 3, Ended: true, RC: 137, Secs: 3.04, Stdout: "before\n"},
		{Name: "uname", Timeout: 60, Ended: true, RC: 0, Secs: 0.10, Stdout: "aarch64\naarch64\narmv8l\nno newline\n"},
	}
	if len(rep.Cases) != len(want) {
		t.Fatalf("got %d cases, want %d", len(rep.Cases), len(want))
	}
	for i, w := range want {
		if got := *rep.Cases[i]; got != w {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, got, w)
		}
		if rep.Case(w.Name) != rep.Cases[i] {
			t.Errorf("Case(%q) does not find it", w.Name)
		}
	}
	if rep.Case("missing") != nil {
		t.Error("unknown case found")
	}
	if rep.Case("fail").TimedOut() || !rep.Case("hang").TimedOut() || rep.Case("uname").TimedOut() {
		t.Error("TimedOut wrong")
	}
	if got := rep.Case("fail").Output(); got != "one\ntwo\n" {
		t.Errorf("Output() = %q", got)
	}
}

func TestParseSerial(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		check     func(t *testing.T, r *Report)
		wantErr   bool
	}{
		{
			name: "kernel lines outside blocks are ignored",
			log: "[    0.1] Booting Linux\r\n@@VM-START model=a64fx nproc=2\r\n[    1.0] random: noise\r\n" +
				"@@RUN x timeout=5\r\n@@STDOUT x\r\nout1\r\n@@STDERR x\r\n@@END x rc=3 secs=1.5\r\n@@VM-DONE uptime=9\r\n",
			check: func(t *testing.T, r *Report) {
				c := r.Case("x")
				if !r.Done || c == nil || c.RC != 3 || c.Stdout != "out1\n" || c.Stderr != "" || c.Timeout != 5 || c.Secs != 1.5 {
					t.Errorf("%+v %+v", r, c)
				}
			},
		},
		{
			name: "a case cut short by a dying VM keeps its partial output",
			log:  "@@VM-START model=m\n@@RUN a\n@@STDOUT a\n@@STDERR a\n@@END a rc=0 secs=0\n@@RUN b\n@@STDOUT b\npartial\n[ 5.0] Kernel panic\n",
			check: func(t *testing.T, r *Report) {
				if r.Done || len(r.Cases) != 2 || !r.Cases[0].Ended || r.Cases[1].Ended {
					t.Fatalf("%+v", r)
				}
				if r.Cases[1].Stdout != "partial\n[ 5.0] Kernel panic\n" {
					t.Errorf("partial %q", r.Cases[1].Stdout)
				}
			},
		},
		{
			name: "protocol words inside a case's output are output",
			log:  "@@RUN a\n@@STDOUT a\n@@VM-DONE\n@@VM-START x=y\n@@RUN b\n@@END a rc=1\n@@STDERR a\n@@END a rc=1 secs=0\n",
			check: func(t *testing.T, r *Report) {
				if r.Done || r.Started || len(r.Cases) != 1 || r.Cases[0].RC != 1 ||
					r.Cases[0].Stdout != "@@VM-DONE\n@@VM-START x=y\n@@RUN b\n@@END a rc=1\n" {
					t.Errorf("%+v %+v", r, r.Cases[0])
				}
			},
		},
		{name: "no boot at all", log: "qemu: could not load kernel\n", check: func(t *testing.T, r *Report) {
			if r.Started || r.Done || len(r.Cases) != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{name: "bad rc", log: "@@RUN a\n@@STDOUT a\n@@STDERR a\n@@END a rc=x\n", wantErr: true},
		{name: "run without a name", log: "@@RUN \n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseSerial(tc.log)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
