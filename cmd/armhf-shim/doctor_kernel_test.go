package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
)

// doctor's kernel section on this machine, against the kernel's own files
// read here: the config option its architecture needs, and the checks that
// make sense only on arm64 saying so elsewhere.
func TestDoctorKernelSection(t *testing.T) {
	r := runShim(t, "", nil, "doctor", "--json")
	type check struct{ Name, Value, Source, Status, Detail, Fix string }
	var rep struct {
		Kernel struct {
			Machine  string
			Config   check
			PageSize check `json:"page_size"`
			ABI      []check
			Binfmt   check
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	k := rep.Kernel
	opt := map[string]string{"x86_64": "CONFIG_IA32_EMULATION", "aarch64": "CONFIG_COMPAT"}[k.Machine]
	if opt == "" {
		t.Skipf("kernel %s: armhf-shim supports arm64 and x86_64", k.Machine)
	}
	if k.Config.Name != opt {
		t.Errorf("config check %+v, want %s", k.Config, opt)
	}
	if cfg, err := readConfigGz("/proc/config.gz"); err == nil {
		want := "n"
		for _, l := range strings.Split(cfg, "\n") {
			if v, ok := strings.CutPrefix(l, opt+"="); ok {
				want = v
			}
		}
		if k.Config.Value != want || k.Config.Source != "/proc/config.gz" {
			t.Errorf("config check %+v; /proc/config.gz says %s=%s", k.Config, opt, want)
		}
	}
	if len(k.ABI) != 3 {
		t.Fatalf("abi: %+v", k.ABI)
	}
	if k.Machine == "x86_64" {
		for _, c := range append([]check{k.PageSize}, k.ABI...) {
			if c.Status != "not applicable" {
				t.Errorf("x86_64: %s is %q, want not applicable", c.Name, c.Status)
			}
		}
	} else if k.PageSize.Value != "" && k.PageSize.Value != "4096" && k.PageSize.Status != "problem" && k.PageSize.Status != "warning" {
		// A warning where the kernel still runs 32-bit code (CONFIG_COMPAT
		// with larger pages), else a problem.
		t.Errorf("arm64 with %s-byte pages judged %q: %+v", k.PageSize.Value, k.PageSize.Status, k.PageSize)
	}
	text := runShim(t, "", nil, "doctor")
	for _, say := range []string{"kernel config:", "page size:", "abi.swp:", "abi.cp15_barrier:", "abi.setend:", "binfmt_misc:"} {
		if !strings.Contains(text.stdout, say) {
			t.Errorf("text report lacks %q:\n%s", say, text.stdout)
		}
	}
}

func readConfigGz(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(z)
	return string(b), err
}
