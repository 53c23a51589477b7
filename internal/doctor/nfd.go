package doctor

import (
	"fmt"
	"strings"
)

// Node labels for Kubernetes: node-feature-discovery's local source reads
// files of name=value lines from /etc/kubernetes/node-feature-discovery/features.d/
// on each node and labels the node with them, so a RuntimeClass's
// nodeSelector can keep armhf pods off nodes without AArch32 (Graviton4,
// Neoverse-V2) in a mixed node group.
const (
	// NFDDir is where nfd-worker's local source reads feature files.
	NFDDir = "/etc/kubernetes/node-feature-discovery/features.d"
	// NFDFile is armhf-shim's feature file in NFDDir.
	NFDFile = NFDDir + "/armhf-shim"
	// LabelPrefix is NFD's own label namespace (other namespaces need
	// nfd-master's -extra-label-ns), with armhf-shim's name.
	LabelPrefix = "feature.node.kubernetes.io/armhf-shim."
	// LabelAArch32 is "true" when armhf code runs natively on the node.
	LabelAArch32 = LabelPrefix + "aarch32"
	// LabelIA32 is its x86_64 counterpart (i386 code natively), written
	// on x86_64 nodes only.
	LabelIA32 = LabelPrefix + "ia32"
	// LabelCompatMachine is what uname -m says to 32-bit pods, written
	// only when they run natively.
	LabelCompatMachine = LabelPrefix + "compat-machine"
)

// Runs32Native is doctor's verdict: this host runs its 32-bit target's
// code natively (exit 0). The node labels and the Kubernetes installer act
// on it and on nothing else.
func (r *Report) Runs32Native() bool { return r.ExitCode == 0 && r.Compat.Target != "" }

// NodeLabel is one node-feature-discovery label.
type NodeLabel struct{ Name, Value string }

// NodeLabels are the labels of this node, from the report's verdict:
// the AArch32 label always (false on a kernel that is not arm64), the IA-32
// one on x86_64, and the compat machine where 32-bit code runs.
func (r *Report) NodeLabels() []NodeLabel {
	native := r.Runs32Native()
	l := []NodeLabel{{LabelAArch32, fmt.Sprint(native && r.Compat.Target == "armhf")}}
	if r.Compat.Target == "i386" {
		l = append(l, NodeLabel{LabelIA32, fmt.Sprint(native)})
	}
	if native && r.Compat.CompatMachine != "" {
		l = append(l, NodeLabel{LabelCompatMachine, r.Compat.CompatMachine})
	}
	return l
}

// NFDFeatures renders the labels as a node-feature-discovery feature file.
func NFDFeatures(labels []NodeLabel) []byte {
	var b strings.Builder
	// A comment line must not start with "# +": that is an NFD directive.
	b.WriteString("# Written by armhf-shim (doctor --nfd, node-install): node-feature-discovery's local source\n")
	b.WriteString("# labels the node with these lines. Rewritten on every run; removed by node-install --undo.\n")
	for _, l := range labels {
		fmt.Fprintf(&b, "%s=%s\n", l.Name, l.Value)
	}
	return []byte(b.String())
}
