package install

// Changes reports whether Run with these options would change anything
// (Plan.Changes): a caller that must act after a real change (the
// Kubernetes node installer restarts containerd) asks first, and a rerun
// that finds everything in place disturbs nothing.
func Changes(o Options) (bool, error) {
	p, err := BuildPlan(o)
	if err != nil {
		return false, err
	}
	return p.Changes(), nil
}
