package main

import "github.com/armhf-shim/armhf-shim/dockercli"

// dockerMain is the docker CLI wrapper: args are argv[1:] exactly as the
// docker CLI would get them. It returns only on failure; otherwise the
// process has become the real docker.
func dockerMain(args []string) int { return dockercli.Main(args) }
