// A stand-in for a node's containerd 1.7 that answers --version only:
// static, so it runs chrooted in a scratch node root.
package main

import "fmt"

func main() {
	fmt.Println("containerd github.com/containerd/containerd v1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da")
}
