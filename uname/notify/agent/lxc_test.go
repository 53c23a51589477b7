package agent

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// lxcMsg builds a proxy message as liblxc sends it.
func lxcMsg(reserved uint64, notifSize, respSize int, id uint64, cookie string, lenDelta int) []byte {
	le := binary.LittleEndian
	b := make([]byte, lxcHeader+notifSize+respSize)
	le.PutUint64(b[0:], reserved)
	le.PutUint32(b[8:], 100)  // monitor_pid
	le.PutUint32(b[12:], 200) // init_pid
	le.PutUint16(b[16:], uint16(notifSize))
	le.PutUint16(b[18:], uint16(respSize))
	le.PutUint16(b[20:], 64)
	le.PutUint64(b[24:], uint64(len(cookie)+lenDelta))
	le.PutUint64(b[lxcHeader:], id)
	le.PutUint32(b[lxcHeader+8:], 4242)        // pid
	le.PutUint32(b[lxcHeader+16:], 122)        // data.nr
	le.PutUint32(b[lxcHeader+20:], 0x40000003) // data.arch: AUDIT_ARCH_I386
	for i := lxcHeader + notifSize; i < len(b); i++ {
		b[i] = 0xee // liblxc's response buffer: whatever it held
	}
	return append(b, cookie...)
}

func TestParseLXC(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  []byte
		want string // error substring, "" for success
	}{
		{"liblxc", lxcMsg(0, 80, 24, 7, "armv7l", 0), ""},
		{"larger-structs", lxcMsg(0, 96, 32, 7, "armv7l", 0), ""},
		{"no-cookie", lxcMsg(0, 80, 24, 7, "", 0), ""},
		{"short", make([]byte, 20), "shorter than its header"},
		{"reserved", lxcMsg(1, 80, 24, 7, "armv7l", 0), "reserved"},
		{"small-notif", lxcMsg(0, 40, 24, 7, "armv7l", 0), "seccomp_notif of 40"},
		{"small-resp", lxcMsg(0, 80, 8, 7, "armv7l", 0), "seccomp_notif_resp of 8"},
		{"cookie-length", lxcMsg(0, 80, 24, 7, "armv7l", 3), "its header says"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseLXC(tt.msg)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Notif.ID != 7 || r.Notif.Pid != 4242 || r.Notif.Data.Nr != 122 || r.Notif.Data.Arch != 0x40000003 {
				t.Errorf("notification %+v", r.Notif)
			}
			if want := string(tt.msg[len(tt.msg)-int(binary.LittleEndian.Uint64(tt.msg[24:])):]); r.Cookie != want {
				t.Errorf("cookie %q, want %q", r.Cookie, want)
			}
			reply := LXCReply(tt.msg, r, notify.Resp{ID: 7, Error: -14})
			if len(reply) != lxcHeader+r.notifSize+r.respSize || !bytes.Equal(reply[:lxcHeader+r.notifSize], tt.msg[:lxcHeader+r.notifSize]) {
				t.Fatalf("reply does not repeat the header and notification: %x", reply)
			}
			resp := reply[lxcHeader+r.notifSize:]
			if binary.LittleEndian.Uint64(resp) != 7 || int32(binary.LittleEndian.Uint32(resp[16:])) != -14 {
				t.Errorf("response %x", resp)
			}
			for _, c := range resp[24:] {
				if c != 0 {
					t.Errorf("response beyond struct seccomp_notif_resp not zeroed: %x", resp)
					break
				}
			}
		})
	}
}
