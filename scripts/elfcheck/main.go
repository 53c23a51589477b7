// Command elfcheck verifies that a binary is a static ELF executable of the
// given Go architecture: no PT_INTERP, no PT_DYNAMIC, no DT_NEEDED.
package main

import (
	"debug/elf"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: elfcheck FILE GOARCH")
		os.Exit(2)
	}
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "elfcheck:", err)
		os.Exit(1)
	}
	want := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM, "386": elf.EM_386}[os.Args[2]]
	if f.Machine != want {
		fmt.Fprintf(os.Stderr, "elfcheck: %s is %v, want %v\n", os.Args[1], f.Machine, want)
		os.Exit(1)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			fmt.Fprintf(os.Stderr, "elfcheck: %s is dynamically linked (%v)\n", os.Args[1], p.Type)
			os.Exit(1)
		}
	}
	st, _ := os.Stat(os.Args[1])
	fmt.Printf("static %s %s binary: %s (%d bytes)\n", os.Args[2], f.Machine, os.Args[1], st.Size())
}
