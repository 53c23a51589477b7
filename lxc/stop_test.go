//go:build linux && cgo

package lxc

import (
	"testing"
	"time"
)

func TestShutdownTimeout(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, time.Second},
		{500 * time.Millisecond, time.Second},
		{999 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{time.Second + time.Nanosecond, 2 * time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{10 * time.Second, 10 * time.Second},
	} {
		if got := ShutdownTimeout(tc.in); got != tc.want {
			t.Errorf("ShutdownTimeout(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
