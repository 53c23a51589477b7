//go:build cgo && linux

package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPermuteArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"create b1 --rootfs /r --nesting", "create --rootfs /r --nesting -- b1"},
		{"create --rootfs=/r b1 --cpus 0-1", "create --rootfs=/r --cpus 0-1 -- b1"},
		{"create b1 --rootfs /r --lxcpath /x", "--lxcpath /x create --rootfs /r -- b1"},
		{"--lxcpath /x start b1 --timeout 5", "--lxcpath /x start --timeout 5 -- b1"},
		{"exec b1 -- uname -m", "exec -- b1 uname -m"},
		{"exec b1 uname -m", "exec -- b1 uname -m"},
		{"exec --env A=1 b1 --cwd /tmp -- sh -c 'x'", "exec --env A=1 --cwd /tmp -- b1 sh -c 'x'"},
		{"exec b1 -- --weird-cmd", "exec -- b1 --weird-cmd"},
		{"stop -t 0 b1", "stop -t 0 -- b1"},
		{"destroy b1 -f", "destroy -f -- b1"},
		{"list --json", "list --json"},
		{"create b1 --docker-arg --iptables=false --docker", "create --docker-arg --iptables=false --docker -- b1"},
		{"--help", "--help"},
		{"nosuchcmd a --b", "nosuchcmd a --b"},
	} {
		got := permuteArgs(app, append([]string{"armhf-lxc"}, strings.Fields(tc.in)...))
		want := append([]string{"armhf-lxc"}, strings.Fields(tc.want)...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("permuteArgs(%s) = %q, want %q", tc.in, got[1:], want[1:])
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"0", 0, true},
		{"1m30s", 90 * time.Second, true},
		{"250ms", 250 * time.Millisecond, true},
		{"-1", 0, false},
		{"-5s", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, err := parseTimeout(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
