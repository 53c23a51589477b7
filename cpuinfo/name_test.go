package cpuinfo

import "testing"

func TestCPUName(t *testing.T) {
	for _, tc := range []struct{ fixture, want string }{
		{"rpi3b-raspbian-armv7l.txt", "Cortex-A53"},
		{"qemu-cortex-a72-aarch64.txt", "Cortex-A72"},
		{"qemu-cortex-a72-linux32.txt", "Cortex-A72"},
		{"qemu-neoverse-n1-aarch64.txt", "Neoverse-N1 (AWS Graviton2, Ampere Altra)"},
		{"qemu-neoverse-n1-linux32.txt", "Neoverse-N1 (AWS Graviton2, Ampere Altra)"},
		{"x86_64-amd-epyc-2cpu.txt", "AMD EPYC"},
	} {
		if got := mustParse(t, fixture(t, tc.fixture)).CPUName(); got != tc.want {
			t.Errorf("%s: CPUName = %q, want %q", tc.fixture, got, tc.want)
		}
	}
	block := func(impl, part string) string {
		return "processor\t: 0\nCPU implementer\t: " + impl + "\nCPU part\t: " + part + "\n\n"
	}
	for _, tc := range []struct{ in, want string }{
		{block("0x41", "0xd4f"), "Neoverse-V2 (AWS Graviton4; no AArch32)"},
		{block("0x41", "0xd40"), "Neoverse-V1 (AWS Graviton3)"},
		{block("0x41", "0xd49"), "Neoverse-N2"},
		{block("0x46", "0x001"), "A64FX"},
		{block("0xc0", "0xac3"), "Ampere-1"},
		{block("0x43", "0x0af"), "ThunderX2"},
		{block("0x41", "0xd99"), "implementer 0x41 part 0xd99"},
		{block("0x4e", "0x4"), "implementer 0x4e part 0x004"},
		{block("junk", "0xd08"), "implementer junk part 0xd08"},
		{"processor\t: 0\nfoo\t: bar\n\n", "unknown CPU"},
		{"processor\t: 0\nvendor_id\t: GenuineIntel\n\n", "GenuineIntel"},
		// big.LITTLE: distinct cores in order of appearance
		{block("0x41", "0xd05") + "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\n" +
			"processor\t: 2\nCPU implementer\t: 0x41\nCPU part\t: 0xd05\n\n", "Cortex-A55 + Cortex-A76"},
	} {
		if got := mustParse(t, []byte(tc.in)).CPUName(); got != tc.want {
			t.Errorf("CPUName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Template(4).CPUName(); got != "Cortex-A72" {
		t.Errorf("template CPUName = %q", got)
	}
	if got := (&Info{}).CPUName(); got != "unknown CPU (no processors)" {
		t.Errorf("empty CPUName = %q", got)
	}
}
