package install

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

// hooksFile is an OCI hooks.d entry (podman's and CRI-O's format 1.0.0).
type hooksFile struct {
	Version string `json:"version"`
	Hook    struct {
		Path string   `json:"path"`
		Args []string `json:"args,omitempty"`
	} `json:"hook"`
	When struct {
		Always bool `json:"always"`
	} `json:"when"`
	Stages []string `json:"stages"`
}

// PodmanHook renders the hooks.d file: `armhf-shim hook` for every
// container at createRuntime (it decides per container and mounts the
// armv7 cpuinfo for 32-bit ones) and poststop (cleanup).
//
// createRuntime, not createContainer: runc and crun run createRuntime
// hooks on the host, in the runtime's namespaces and with its credentials,
// once the container's mounts are done and before pivot_root, with the
// container's real pid (the hook joins its mount namespace). They run
// createContainer hooks inside the container's namespaces, user namespace
// included: in a user-namespaced container (podman --userns/--uidmap,
// rootless podman) the hook would be the container's root and could not
// write the state root. podman's hooks.d format 1.0.0 lists createRuntime
// among its valid stages (containers/common pkg/hooks/1.0.0).
func PodmanHook(binary string) []byte {
	var h hooksFile
	h.Version = "1.0.0"
	h.Hook.Path = binary
	h.Hook.Args = []string{"armhf-shim", "hook"}
	h.When.Always = true
	h.Stages = []string{"createRuntime", "poststop"}
	b, _ := marshalIndent(h)
	return b
}

func planPodman(o Options) (Plan, error) {
	path := o.configFile()
	if path == "" {
		path = defaultHookFile(o.root())
	}
	t, err := readTarget(o.Root, path)
	if err != nil {
		return Plan{}, err
	}
	old, rec, oldRec := t.old, t.rec, t.oldRec
	if old != nil {
		var h hooksFile
		if err := json.Unmarshal(old, &h); err != nil {
			return Plan{}, fmt.Errorf("%s: malformed hooks file (%v): left unchanged; fix or remove it and run again", path, err)
		}
	}
	var p Plan
	// A hooks file of ours where earlier versions put it goes: an engine
	// that reads both directories would run the hook twice.
	var legacy []fileChange
	if lf := filepath.Join(o.root(), LegacyHookFile); o.Config == "" && lf != path {
		if b, mode, err := readExisting(o.Root, lf); err == nil && b != nil && isOurHook(b) {
			legacy = change(lf, b, nil, mode)
		}
	}
	if o.Uninstall {
		p.Files = change(path, old, nil, 0o644)
		rec.finish(&p, path, oldRec, true)
		p.Files = append(p.Files, legacy...)
		return p, nil
	}
	rec.willCreate(filepath.Dir(path))
	nw := PodmanHook(o.Binary)
	if old != nil && sameJSON(old, nw) {
		nw = old
	}
	p.Files = change(path, old, nw, 0o644)
	rec.finish(&p, path, oldRec, false)
	p.Files = append(p.Files, legacy...)
	p.Apply = []string{"nothing: podman and CRI-O read hooks.d for every new container"}
	p.Notes = append(p.Notes, "a hook cannot set the personality: armhf-shim install podman-runtime [--set-as-default] registers the runtime wrapper, "+
		"which can (or run armhf containers with podman run --personality=LINUX32, honoured by crun and runc >= 1.2)")
	return p, nil
}

// isOurHook reports whether a hooks file runs `armhf-shim hook`.
func isOurHook(b []byte) bool {
	var h hooksFile
	return json.Unmarshal(b, &h) == nil && len(h.Hook.Args) == 2 && h.Hook.Args[0] == "armhf-shim" && h.Hook.Args[1] == "hook"
}
