package uname

import "encoding/binary"

// ELF e_machine values of the 32-bit compat targets.
const (
	emI386 = 3
	emARM  = 40
)

// tinyELF builds a minimal static ELF32 executable (one PT_LOAD segment, no
// sections) whose code is code, loaded at base. It is what BuildKit's
// archutil embeds to test whether the kernel runs a foreign architecture:
// a few dozen bytes that call exit(0).
func tinyELF(machine uint16, flags uint32, base uint32, code []byte) []byte {
	const ehsize, phsize = 52, 32
	total := uint32(ehsize + phsize + len(code))
	b := make([]byte, total)
	copy(b, []byte{0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1 /* LSB */, 1 /* EV_CURRENT */})
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2) // ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1) // EV_CURRENT
	le.PutUint32(b[24:], base+ehsize+phsize)
	le.PutUint32(b[28:], ehsize) // e_phoff
	le.PutUint32(b[36:], flags)
	le.PutUint16(b[40:], ehsize)
	le.PutUint16(b[42:], phsize)
	le.PutUint16(b[44:], 1) // e_phnum
	le.PutUint16(b[46:], 40)
	ph := b[ehsize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 0) // p_offset
	le.PutUint32(ph[8:], base)
	le.PutUint32(ph[12:], base)
	le.PutUint32(ph[16:], total)
	le.PutUint32(ph[20:], total)
	le.PutUint32(ph[24:], 5) // PF_R|PF_X
	le.PutUint32(ph[28:], 0x1000)
	copy(b[ehsize+phsize:], code)
	return b
}

// armExit0 is an EABI5 hard-float ARM executable: mov r0,#0; mov r7,#1
// (__NR_exit); svc #0. Built on each call, not at package initialisation:
// the runtime wrapper, which links this package, starts on every container
// operation and never probes.
func armExit0() []byte {
	return tinyELF(emARM, 0x05000400, 0x10000, []byte{
		0x00, 0x00, 0xa0, 0xe3, // mov r0, #0
		0x01, 0x70, 0xa0, 0xe3, // mov r7, #1
		0x00, 0x00, 0x00, 0xef, // svc #0
	})
}

// i386Exit0 is an i386 executable: xor ebx,ebx; mov eax,1 (__NR_exit);
// int 0x80.
func i386Exit0() []byte {
	return tinyELF(emI386, 0, 0x08048000, []byte{
		0x31, 0xdb,
		0xb8, 0x01, 0x00, 0x00, 0x00,
		0xcd, 0x80,
	})
}

// Compat32ELF returns the embedded exit(0) test executable for the 32-bit
// compat target of the 64-bit kernel architecture goarch ("arm64" -> ARM,
// "amd64" -> i386), or nil.
func Compat32ELF(goarch string) []byte {
	switch goarch {
	case "arm64":
		return armExit0()
	case "amd64":
		return i386Exit0()
	}
	return nil
}
