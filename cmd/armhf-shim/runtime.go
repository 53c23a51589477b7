package main

import "github.com/armhf-shim/armhf-shim/shim"

// runtimeMain is the OCI runtime wrapper (armhf-shim runtime ..., or
// argv[0] runc / armhf-runc): args are exactly what runc would receive.
// It returns only on failure; on success the process is the real runtime.
func runtimeMain(args []string) int { return shim.RuntimeMain(args) }
