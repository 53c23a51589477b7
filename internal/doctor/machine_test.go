package doctor

import "testing"

// uname -r as distributions and clouds spell it.
func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release string
		at, ok  bool
	}{
		{"6.1.0-27-arm64", true, true},
		{"5.5.0", true, true},
		{"5.4.0-1103-aws", false, true},
		{"5.10.0-rpi7-rpi-v8", true, true},
		{"5.15.167.4-microsoft-standard-WSL2", true, true},
		{"4.19.0-26-arm64", false, true},
		{"5.4", false, true},
		{"5", false, false},
		{"5.x-custom", false, false},
		{"", false, false},
		{"10.0", true, true},
	} {
		at, ok := kernelAtLeast(tc.release, 5, 5)
		if at != tc.at || ok != tc.ok {
			t.Errorf("kernelAtLeast(%q, 5, 5) = %v, %v; want %v, %v", tc.release, at, ok, tc.at, tc.ok)
		}
	}
}

func TestContainersKernel(t *testing.T) {
	for _, tc := range []struct{ release, says string }{
		{"6.1.0-27-arm64", "yes: Linux 6.1.0-27-arm64"},
		{"5.4.0-1103-aws", "no: Linux 5.4.0-1103-aws is older than 5.5"},
		{"weird", "unknown"},
	} {
		if got := containersKernel(tc.release); len(got) < len(tc.says) || got[:len(tc.says)] != tc.says {
			t.Errorf("containersKernel(%q) = %q, want it to start %q", tc.release, got, tc.says)
		}
	}
}
