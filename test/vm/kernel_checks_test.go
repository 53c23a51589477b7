package vm

import (
	"encoding/json"
	"strings"
	"testing"
)

// The doctor-kernel case: doctor's kernel section (docs/doctor.md) on
// Debian 12's real arm64 kernel, decoded by the documented JSON names.
func init() {
	checks["doctor-kernel"] = checkDoctorKernel
}

type kernelCheckJSON struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

func checkDoctorKernel(t *testing.T, m cpuModel, r *CaseResult) {
	want := 0
	if !m.AArch32 {
		want = 1
	}
	if r.RC != want {
		t.Errorf("doctor --json on %s exited %d, want %d:\n%s", m.Name, r.RC, want, r.Output())
	}
	var rep struct {
		Kernel struct {
			Machine  string            `json:"machine"`
			Config   kernelCheckJSON   `json:"config"`
			PageSize kernelCheckJSON   `json:"page_size"`
			ABI      []kernelCheckJSON `json:"abi"`
			Binfmt   kernelCheckJSON   `json:"binfmt"`
		} `json:"kernel"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("doctor --json on %s: %v:\n%s", m.Name, err, r.Output())
	}
	k := rep.Kernel
	t.Logf("%s: kernel section: config %+v; page size %+v; abi %+v; binfmt %+v", m.Name, k.Config, k.PageSize, k.ABI, k.Binfmt)
	if k.Config.Name != "CONFIG_COMPAT" || k.Config.Value != "y" || k.Config.Status != "ok" || !strings.HasPrefix(k.Config.Source, "/boot/config-") {
		t.Errorf("%s: config %+v, want CONFIG_COMPAT=y, ok, read from /boot/config-*", m.Name, k.Config)
	}
	if k.PageSize.Value != "4096" || k.PageSize.Status != "ok" {
		t.Errorf("%s: page size %+v, want 4096, ok", m.Name, k.PageSize)
	}
	// binfmt_misc is not mounted on the VM's own /proc (cases/_disk.sh
	// mounts it in the disk's chroot only): doctor must say it cannot see,
	// not that there is no handler.
	if k.Binfmt.Status != "unknown" || !strings.Contains(k.Binfmt.Detail, "not mounted") {
		t.Errorf("%s: binfmt %+v, want unknown (not mounted)", m.Name, k.Binfmt)
	}
	if len(k.ABI) != 3 {
		t.Fatalf("%s: abi has %d checks, want swp, cp15_barrier, setend", m.Name, len(k.ABI))
	}
	for i, name := range []string{"abi.swp", "abi.cp15_barrier", "abi.setend"} {
		c := k.ABI[i]
		if c.Name != name {
			t.Errorf("%s: abi[%d] is %q, want %q", m.Name, i, c.Name, name)
		}
		if !m.AArch32 {
			if c.Status != "not applicable" {
				t.Errorf("%s (no AArch32): %s %+v, want not applicable", m.Name, name, c)
			}
			continue
		}
		// Debian's kernel has CONFIG_ARMV8_DEPRECATED with all three; the
		// defaults (legacy_instructions): SWP obsolete, so undefined (0);
		// CP15 barriers and SETEND deprecated, so emulated (1).
		wantV, wantS := "1", "ok"
		if name == "abi.swp" {
			wantV, wantS = "0", "warning"
		}
		if c.Value != wantV || c.Status != wantS || c.Source != "/proc/sys/"+strings.Replace(name, ".", "/", 1) {
			t.Errorf("%s: %s %+v, want value %s, %s, read from /proc/sys/abi", m.Name, name, c, wantV, wantS)
		}
	}
	for _, p := range rep.Problems {
		if strings.HasPrefix(p, "kernel ") {
			t.Errorf("%s: a kernel problem on Debian's stock kernel: %s", m.Name, p)
		}
	}
}
