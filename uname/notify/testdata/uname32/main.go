// Command uname32 is a test program built for GOARCH=386 (or arm): Go's
// runtime makes its system calls through the 32-bit ABI, so its uname calls
// go through the seccomp filter under test.
//
//	uname32 new|old|oldold      print the struct the call filled, fields joined by "|"
//	uname32 bad                 print the errno of uname on bad pointers
//	uname32 hammer THREADS N    N uname calls on each of THREADS threads; print wrong answers
//	uname32 bench N             time N uname calls one by one; print the median in ns
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The i386 numbers; on ARM EABI only uname (122) exists.
const (
	sysUname       = 122
	sysOldUname    = 109
	sysOldOldUname = 59
)

func call(nr uintptr, p unsafe.Pointer) syscall.Errno {
	_, _, errno := syscall.Syscall(nr, uintptr(p), 0, 0)
	return errno
}

func fields(b []byte, size int) string {
	var out []string
	for i := 0; i+size <= len(b); i += size {
		f := b[i : i+size]
		if n := bytes.IndexByte(f, 0); n >= 0 {
			f = f[:n]
		}
		out = append(out, string(f))
	}
	return strings.Join(out, "|")
}

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "new", "old", "oldold":
		nr, size, n := uintptr(sysUname), 65, 6
		switch os.Args[1] {
		case "old":
			nr, n = sysOldUname, 5
		case "oldold":
			nr, size, n = sysOldOldUname, 9, 5
		}
		// Poison the buffer and leave a guard after it: the reply must
		// set every byte of the struct and no byte more.
		buf := bytes.Repeat([]byte{0xAA}, size*n+16)
		if errno := call(nr, unsafe.Pointer(&buf[0])); errno != 0 {
			fmt.Println("errno", int(errno))
			os.Exit(1)
		}
		if !bytes.Equal(buf[size*n:], bytes.Repeat([]byte{0xAA}, 16)) {
			fmt.Println("wrote past the struct")
			os.Exit(1)
		}
		fmt.Println(fields(buf[:size*n], size))
	case "bad":
		// NULL, a pointer into the read-only text, a read-only mapping,
		// and a struct that straddles the end of a mapping.
		code := **(**uintptr)(unsafe.Pointer(&struct{ f func() }{main}))
		page := os.Getpagesize()
		ro, err := syscall.Mmap(-1, 0, page, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			panic(err)
		}
		two, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			panic(err)
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, uintptr(unsafe.Pointer(&two[page])), uintptr(page), 0); errno != 0 {
			panic(errno)
		}
		fmt.Println(int(call(sysUname, nil)), int(call(sysUname, unsafe.Pointer(code))),
			int(call(sysUname, unsafe.Pointer(&ro[0]))), int(call(sysUname, unsafe.Pointer(&two[page-100]))))
	case "hammer":
		threads, _ := strconv.Atoi(os.Args[2])
		n, _ := strconv.Atoi(os.Args[3])
		want := os.Args[4]
		var wg sync.WaitGroup
		var mu sync.Mutex
		wrong := 0
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				var u syscall.Utsname
				for range n {
					u = syscall.Utsname{}
					errno := call(sysUname, unsafe.Pointer(&u))
					m := unsafe.Slice((*byte)(unsafe.Pointer(&u.Machine[0])), len(u.Machine))
					if errno != 0 || string(m[:bytes.IndexByte(m, 0)]) != want {
						mu.Lock()
						wrong++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		fmt.Println("wrong", wrong)
	case "bench":
		n, _ := strconv.Atoi(os.Args[2])
		ns := make([]int64, n)
		var u syscall.Utsname
		for i := range ns {
			t0 := time.Now()
			call(sysUname, unsafe.Pointer(&u))
			ns[i] = int64(time.Since(t0))
		}
		slices.Sort(ns)
		fmt.Println(ns[n/2])
	default:
		os.Exit(2)
	}
}
