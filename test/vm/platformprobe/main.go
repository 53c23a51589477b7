// Command platformprobe prints the platform containerd's own detection
// (github.com/containerd/platforms.DefaultSpec) reports for the running
// process, e.g. "linux/arm/v7".
//
// The arm64 VM test bed cross-builds it with GOARCH=arm GOARM=7 and runs it
// with and without armhf-shim: on an arm64 kernel containerd reads
// "CPU architecture: 8" from /proc/cpuinfo and says linux/arm/v8, which no
// armhf image offers; under armhf-shim it must say linux/arm/v7.
package main

import (
	"fmt"

	"github.com/containerd/platforms"
)

func main() {
	fmt.Println(platforms.Format(platforms.DefaultSpec()))
}
