package main

import "github.com/armhf-shim/armhf-shim/shim"

// hookMain is the OCI hook for podman and CRI-O (armhf-shim hook ...):
// args are the hook's arguments after "hook"; the OCI state is on stdin.
func hookMain(args []string) int { return shim.HookMain(args) }
