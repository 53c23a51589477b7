// Package kubernetes tests the Kubernetes node installer as far as one
// machine allows: the image of deploy/kubernetes/Dockerfile run by docker
// as the DaemonSet runs it (the node's root mounted, hostPID), against a
// scratch node root holding a real containerd's config, then that
// containerd's CRI driven by crictl as a kubelet would, through the armhf
// handler (i386 standing in for armhf on the x86_64 test machine).
package kubernetes
