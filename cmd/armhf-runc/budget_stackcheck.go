//go:build armhf_stackcheck

package main

import "runtime/debug"

// Built with -tags armhf_stackcheck, the wrapper dies with "stack
// overflow" when its goroutine's stack would grow past the 4 kB that Go's
// start-up has already given it. shim.TestHotPathsFitTheInitialStack
// runs such a build on every per-call path, so none of them pays for a
// stack copy (see shim's stackNote). This file's name sorts before
// main.go, so its init runs first.
func init() { debug.SetMaxStack(4096) }
