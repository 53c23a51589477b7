// Package engines proves the container engines that scripts/engines.sh
// builds from the Go module proxy (containerd, runc, crictl; pinned in
// scripts/engines.versions) on this machine, before the tests of the
// routes that need them (BuildKit builders, the CRI, the arm64 VM) lean on
// them: a private containerd whose CRI plugin loads with a runc handler,
// and a runc that honours an OCI bundle's linux.personality, the mechanism
// by which a 32-bit container sees a 32-bit machine.
//
// Every test starts daemons or containers, so it skips under -short.
package engines
