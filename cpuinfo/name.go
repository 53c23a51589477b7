package cpuinfo

import (
	"fmt"
	"strconv"
	"strings"
)

type cpuID struct{ implementer, part uint32 }

// cpuNames maps MIDR implementer and part numbers (as /proc/cpuinfo prints
// them in "CPU implementer" and "CPU part") to the core's name, with the
// servers it is best known from. Only cores that matter for armhf-shim's
// hosts (arm64 servers, boards) are listed.
var cpuNames = map[cpuID]string{
	// Arm Ltd (0x41)
	{0x41, 0xc07}: "Cortex-A7",
	{0x41, 0xc09}: "Cortex-A9",
	{0x41, 0xc0f}: "Cortex-A15",
	{0x41, 0xd03}: "Cortex-A53",
	{0x41, 0xd04}: "Cortex-A35",
	{0x41, 0xd05}: "Cortex-A55",
	{0x41, 0xd07}: "Cortex-A57",
	{0x41, 0xd08}: "Cortex-A72",
	{0x41, 0xd09}: "Cortex-A73",
	{0x41, 0xd0a}: "Cortex-A75",
	{0x41, 0xd0b}: "Cortex-A76",
	{0x41, 0xd0c}: "Neoverse-N1 (AWS Graviton2, Ampere Altra)",
	{0x41, 0xd0d}: "Cortex-A77",
	{0x41, 0xd40}: "Neoverse-V1 (AWS Graviton3)",
	{0x41, 0xd41}: "Cortex-A78",
	{0x41, 0xd44}: "Cortex-X1",
	{0x41, 0xd46}: "Cortex-A510",
	{0x41, 0xd47}: "Cortex-A710",
	{0x41, 0xd49}: "Neoverse-N2",
	{0x41, 0xd4a}: "Neoverse-E1",
	{0x41, 0xd4f}: "Neoverse-V2 (AWS Graviton4; no AArch32)",
	// Cavium (0x43)
	{0x43, 0x0a1}: "ThunderX",
	{0x43, 0x0af}: "ThunderX2",
	// Fujitsu (0x46)
	{0x46, 0x001}: "A64FX",
	// HiSilicon (0x48)
	{0x48, 0xd01}: "TaiShan v110 (Kunpeng 920)",
	// Ampere Computing (0xc0)
	{0xc0, 0xac3}: "Ampere-1",
	{0xc0, 0xac4}: "Ampere-1A",
}

// CPUName names the CPU for humans (armhf-shim doctor). ARM blocks are
// looked up by implementer and part ("Cortex-A72", "Neoverse-N1 (AWS
// Graviton2, Ampere Altra)"); an unknown pair reads "implementer 0x41 part
// 0xd99". x86 blocks give their "model name". Different cores
// (big.LITTLE) are joined in order of appearance: "Cortex-A55 + Cortex-A76".
func (i *Info) CPUName() string {
	var names []string
	for _, p := range i.Processors {
		n := blockName(p)
		if len(names) == 0 || !contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "unknown CPU (no processors)"
	}
	return strings.Join(names, " + ")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func blockName(p Processor) string {
	impl, iok := p.Get("CPU implementer")
	part, pok := p.Get("CPU part")
	if iok && pok {
		im, err1 := strconv.ParseUint(strings.TrimPrefix(impl, "0x"), 16, 32)
		pa, err2 := strconv.ParseUint(strings.TrimPrefix(part, "0x"), 16, 32)
		if err1 == nil && err2 == nil {
			if n, ok := cpuNames[cpuID{uint32(im), uint32(pa)}]; ok {
				return n
			}
			return fmt.Sprintf("implementer 0x%02x part 0x%03x", im, pa)
		}
		return fmt.Sprintf("implementer %s part %s", impl, part)
	}
	if m, ok := p.Get("model name"); ok && m != "" {
		return m
	}
	if v, ok := p.Get("vendor_id"); ok && v != "" {
		return v
	}
	return "unknown CPU"
}

// NameOf names an ARM core by its MIDR implementer and part numbers, as
// CPUName does a cpuinfo block (from sysfs's midr_el1, for one).
func NameOf(implementer, part uint32) string {
	if n, ok := cpuNames[cpuID{implementer, part}]; ok {
		return n
	}
	return fmt.Sprintf("implementer 0x%02x part 0x%03x", implementer, part)
}
