package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFDName(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		name string
		k    Kept
		want string // "" when only the round trip is checked
	}{
		{"runc", Kept{Seq: 7, Pid: 4242, Machine: "armv7l", ID: "m-act1"}, "uname,n=7,pid=4242,machine=armv7l,id=m-act1"},
		{"escaped", Kept{Seq: 0, Pid: 1, Machine: "a:b,c%d", ID: "my box/1"}, "uname,n=0,pid=1,machine=a%3Ab%2Cc%25d,id=my%20box%2F1"},
		{"no-id", Kept{Seq: 1, Pid: 2, Machine: "armv7l"}, "uname,n=1,pid=2,machine=armv7l,id="},
		{"long-id", Kept{Seq: 1, Pid: 2, Machine: "armv7l", ID: long}, ""},
		{"long-everything", Kept{Seq: 1<<64 - 1, Pid: 1<<31 - 1, Machine: strings.Repeat(":", 64), ID: strings.Repeat(" ", 100)}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.k.FDName()
			if tt.want != "" && name != tt.want {
				t.Errorf("FDName = %q, want %q", name, tt.want)
			}
			if len(name) > fdNameMax || strings.ContainsAny(name, ": \n") {
				t.Errorf("FDName = %q (%d): not a name systemd takes", name, len(name))
			}
			k, err := ParseFDName(name)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.k; tt.want != "" && k != want {
				t.Errorf("ParseFDName(%q) = %+v, want %+v", name, k, want)
			}
			if k.Seq != tt.k.Seq || k.Pid != tt.k.Pid || k.Machine != tt.k.Machine || !strings.HasPrefix(tt.k.ID, k.ID) {
				t.Errorf("ParseFDName(%q) = %+v: not the start of %+v", name, k, tt.k)
			}
		})
	}
}

func TestParseFDNameStrict(t *testing.T) {
	for _, name := range []string{
		"",
		"armhf-shim-seccomp-agent.socket",
		"stored",
		"uname,n=7,pid=4242,machine=armv7l",
		"uname,n=7,pid=4242,machine=armv7l,id=c,x=1",
		"uname,pid=4242,n=7,machine=armv7l,id=c",
		"uname,n=07,pid=4242,machine=armv7l,id=c",
		"uname,n=+7,pid=4242,machine=armv7l,id=c",
		"uname,n=-1,pid=4242,machine=armv7l,id=c",
		"uname,n=7,pid=0,machine=armv7l,id=c",
		"uname,n=7,pid=-3,machine=armv7l,id=c",
		"uname,n=7,pid=x,machine=armv7l,id=c",
		"uname,n=7,pid=4242,machine=,id=c",
		"uname,n=7,pid=4242,machine=" + strings.Repeat("a", 65) + ",id=c",
		"uname,n=7,pid=4242,machine=arm%20v7,id=c", // a space: not a machine
		"uname,n=7,pid=4242,machine=arm%3av7,id=c", // lower-case hex: not FDName's
		"uname,n=7,pid=4242,machine=arm%41,id=c",   // an escape FDName does not write
		"uname,n=7,pid=4242,machine=arm%4,id=c",
		"uname,n=7,pid=4242,machine=arm%,id=c",
		"uname,n=7,pid=4242,machine=arm%ZZ,id=c",
		"uname,n=7,pid=4242,machine=armv7l,id=a b",
		"uname,n=7,pid=4242,machine=armv7l,id=a:b",
		"UNAME,n=7,pid=4242,machine=armv7l,id=c",
	} {
		if k, err := ParseFDName(name); err == nil {
			t.Errorf("ParseFDName(%q) = %+v, want an error", name, k)
		}
	}
}

func TestListenFDNames(t *testing.T) {
	for _, tt := range []struct {
		name, env string
		n         int
		want      []string // nil: an error
	}{
		{"unset", "", 2, []string{"", ""}},
		{"unset-none", "", 0, []string{}},
		{"socket-and-stored", "a.socket:a.socket:uname,n=0,pid=1,machine=armv7l,id=c", 3,
			[]string{"a.socket", "a.socket", "uname,n=0,pid=1,machine=armv7l,id=c"}},
		{"one", "x", 1, []string{"x"}},
		{"empty-names", "::", 3, []string{"", "", ""}},
		{"fewer", "a:b", 3, nil},
		{"more", "a:b:c", 2, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ListenFDNames(func(k string) string {
				if k == "LISTEN_FDNAMES" {
					return tt.env
				}
				return ""
			}, tt.n)
			if tt.want == nil {
				if err == nil {
					t.Errorf("= %q, want an error", got)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestFDStoreMessages: what the store sends to NOTIFY_SOCKET, a fake one
// here: FDSTORE=1 with the descriptor and its name, new names numbered
// after the kept ones, and FDSTOREREMOVE=1 by name.
func TestFDStoreMessages(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	recv := func() (string, []int) {
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*4))
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n]), parseFDs(oob[:oobn])
	}
	if NewFDStore("") != nil {
		t.Error("a store without NOTIFY_SOCKET")
	}
	s := NewFDStore(sock)
	s.seen(Kept{Seq: 41})
	s.seen(Kept{Seq: 3})
	p := pipeFD(t)
	f := os.NewFile(uintptr(p), "listener")
	defer f.Close()
	k := Kept{Pid: 4242, Machine: "armv7l", ID: "c1"}
	if err := s.add(&k, f); err != nil {
		t.Fatal(err)
	}
	msg, fds := recv()
	if want := "FDSTORE=1\nFDNAME=uname,n=42,pid=4242,machine=armv7l,id=c1"; msg != want || len(fds) != 1 || k.Seq != 42 {
		t.Errorf("FDSTORE message %q with %d descriptors, seq %d; want %q, one, 42", msg, len(fds), k.Seq, want)
	}
	var a, b unix.Stat_t
	if len(fds) == 1 && (unix.Fstat(fds[0], &a) != nil || unix.Fstat(p, &b) != nil || a.Ino != b.Ino) {
		t.Error("the stored descriptor is not the listener")
	}
	closeFDs(fds)
	if err := s.remove(k.FDName()); err != nil {
		t.Fatal(err)
	}
	if msg, fds := recv(); msg != "FDSTOREREMOVE=1\nFDNAME="+k.FDName() || len(fds) != 0 {
		t.Errorf("remove sent %q with %d descriptors", msg, len(fds))
	}
	if err := NewFDStore(filepath.Join(t.TempDir(), "none")).remove("x"); err == nil {
		t.Error("no error from a NOTIFY_SOCKET nobody listens on")
	}
}
