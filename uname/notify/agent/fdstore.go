package agent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// systemd's file descriptor store (sd_notify(3) FDSTORE=1, and
// FileDescriptorStoreMax= in the service) keeps the listeners the agent
// serves across its restarts: the agent gives systemd a copy of each
// listener as it starts serving it, named by what serving it needs (Kept),
// and takes it out (FDSTOREREMOVE=1) when its serving ends. When systemd
// starts the agent again it passes them back after the activated sockets,
// LISTEN_FDNAMES naming each, and the agent serves them as before. Between
// the two, the kernel queues the containers' calls on the listeners
// systemd holds: their uname waits instead of failing with ENOSYS.

// Kept is what serving a stored listener needs, encoded in its FDNAME=.
type Kept struct {
	// Seq tells the agent's listeners apart: FDSTOREREMOVE=1 removes
	// every descriptor of a name.
	Seq uint64
	// Pid is the process whose UTS namespace the answers come from.
	Pid     int
	Machine string
	// ID is the container's, for logs; cut short to fit the name.
	ID string
}

// keptPrefix starts every name the agent gives its listeners; other names
// in LISTEN_FDNAMES are the activated sockets' (their socket unit's name,
// or its FileDescriptorName=).
const keptPrefix = "uname,"

// fdNameMax is systemd's limit on a descriptor's name (FDNAME_MAX).
const fdNameMax = 255

// FDName encodes k as "uname,n=SEQ,pid=PID,machine=M,id=ID", M and ID
// escaped (escape) so that the name keeps to what systemd accepts
// (printable ASCII but ':'; the agent's names also have no space), ID cut
// so that the name fits 255 characters. A machine name is at most 64
// characters, so the rest always fits.
func (k Kept) FDName() string {
	s := fmt.Sprintf("%sn=%d,pid=%d,machine=%s,id=", keptPrefix, k.Seq, k.Pid, escape(k.Machine))
	id := escape(k.ID)
	for len(s)+len(id) > fdNameMax {
		cut := len(id) - 1
		if cut >= 2 && id[cut-2] == '%' {
			cut -= 2 // never half an escape
		}
		id = id[:cut]
	}
	return s + id
}

// ParseFDName decodes a name FDName made, strictly: the fields in order,
// numbers without sign or leading zeros, a valid machine, and escapes only
// where FDName puts them (the name must be the one FDName gives).
func ParseFDName(name string) (Kept, error) {
	bad := func(why string) (Kept, error) {
		return Kept{}, fmt.Errorf("stored descriptor %q: %s", name, why)
	}
	f := strings.Split(name, ",")
	if len(f) != 5 || f[0]+"," != keptPrefix {
		return bad("not a name the agent gives its listeners")
	}
	var k Kept
	var vals [4]string
	for i, key := range []string{"n=", "pid=", "machine=", "id="} {
		v, ok := strings.CutPrefix(f[i+1], key)
		if !ok {
			return bad("no " + key)
		}
		vals[i] = v
	}
	var err error
	if k.Seq, err = strconv.ParseUint(vals[0], 10, 64); err != nil {
		return bad("n= is not a number")
	}
	if k.Pid, err = strconv.Atoi(vals[1]); err != nil || k.Pid <= 0 {
		return bad("pid= is not a process id")
	}
	if k.Machine, err = unescape(vals[2]); err != nil {
		return bad(err.Error())
	}
	if err := notify.CheckMachine(k.Machine); err != nil {
		return bad(err.Error())
	}
	if k.ID, err = unescape(vals[3]); err != nil {
		return bad(err.Error())
	}
	if k.FDName() != name {
		return bad("not in the form the agent writes")
	}
	return k, nil
}

// plain are the bytes escape leaves as they are.
func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._+@", c) >= 0
}

// escape writes every byte but plain ones as %XX.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; plain(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case plain(c):
			b.WriteByte(c)
		case c == '%' && i+2 < len(s):
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad escape %q", s[i:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("byte %q not escaped", c)
		}
	}
	return b.String(), nil
}

// ListenFDNames are the names of the n descriptors systemd passed, from
// LISTEN_FDNAMES (colon-separated, one per descriptor), all "" when it is
// not set (a test, or another manager playing systemd).
func ListenFDNames(getenv func(string) string, n int) ([]string, error) {
	v := getenv("LISTEN_FDNAMES")
	if v == "" {
		return make([]string, n), nil
	}
	names := strings.Split(v, ":")
	if len(names) != n {
		return nil, fmt.Errorf("LISTEN_FDNAMES names %d descriptors, LISTEN_FDS says %d", len(names), n)
	}
	return names, nil
}

// StoredFD is a descriptor systemd kept for the agent, as it passed it.
type StoredFD struct {
	Name string
	File *os.File
}

// ServeStored serves the listeners systemd kept for the agent (from
// ActivatedListeners) as they were served before its restart, each on a
// goroutine of its own, and returns; they take none of the Max places. A
// descriptor whose name does not decode is closed and taken out of the
// store.
func (a *Agent) ServeStored(fds []StoredFD) {
	type listener struct {
		k Kept
		f *os.File
	}
	var ls []listener
	for _, fd := range fds {
		k, err := ParseFDName(fd.Name)
		if err != nil {
			a.logf("%v: closed", err)
			fd.File.Close()
			if a.Store != nil {
				a.Store.remove(fd.Name)
			}
			continue
		}
		if a.Store != nil {
			a.Store.seen(k)
		}
		ls = append(ls, listener{k, fd.File})
	}
	if len(ls) > 0 {
		a.logf("serving the %d listener(s) systemd kept while the agent restarted", len(ls))
	}
	for _, l := range ls {
		go func() {
			defer l.f.Close()
			a.serve(l.k, l.f, true)
		}()
	}
}

// FDStore sends listeners to systemd's store and takes them out.
type FDStore struct {
	socket string // NOTIFY_SOCKET
	mu     sync.Mutex
	next   uint64
}

// NewFDStore is the store behind notifySocket (the NOTIFY_SOCKET systemd
// sets); nil, storing nothing, when it is "": not under systemd.
func NewFDStore(notifySocket string) *FDStore {
	if notifySocket == "" {
		return nil
	}
	return &FDStore{socket: notifySocket}
}

// seen notes a name already in the store, so that new ones differ.
func (s *FDStore) seen(k Kept) {
	s.mu.Lock()
	s.next = max(s.next, k.Seq+1)
	s.mu.Unlock()
}

// add stores l under k's name, k.Seq set to a number of its own.
func (s *FDStore) add(k *Kept, l *os.File) error {
	s.mu.Lock()
	k.Seq = s.next
	s.next++
	s.mu.Unlock()
	return sdNotify(s.socket, "FDSTORE=1\nFDNAME="+k.FDName(), int(l.Fd()))
}

// remove takes the descriptors named name out of the store.
func (s *FDStore) remove(name string) error {
	return sdNotify(s.socket, "FDSTOREREMOVE=1\nFDNAME="+name)
}

// sdNotify sends state, with fds attached, to the service manager's
// notification socket (sd_pid_notify_with_fds; "@" starts an abstract
// socket's name).
func sdNotify(socket, state string, fds ...int) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, []byte(state), oob, &unix.SockaddrUnix{Name: socket}, 0); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", socket, err)
	}
	return nil
}
