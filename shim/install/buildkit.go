package install

import (
	"fmt"
	"path/filepath"
	"strings"
)

// systemdPATH is the PATH systemd gives services (dockerd's, by default).
const systemdPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BuildkitDropIn renders the docker.service drop-in that puts linkDir
// (holding a runc link to armhf-shim) first in dockerd's PATH.
func BuildkitDropIn(linkDir string) []byte {
	var b strings.Builder
	b.WriteString("# Written by armhf-shim install buildkit: dockerd's embedded BuildKit runs `runc`\n")
	b.WriteString("# from dockerd's PATH, not the configured runtime, so a runc link to armhf-shim\n")
	b.WriteString("# goes first. It hands every container to the real runc further down PATH and\n")
	b.WriteString("# changes only 32-bit ones (docker run's default runc resolves through PATH too).\n")
	b.WriteString("[Service]\n")
	fmt.Fprintf(&b, "Environment=\"PATH=%s:%s\"\n", linkDir, systemdPATH)
	return []byte(b.String())
}

func planBuildkit(o Options) (Plan, error) {
	path := o.configFile()
	if path == "" {
		path = inRoot(o.Root, DefaultBuildkitDropIn)
	}
	hostLinkDir := o.LinkDir // what dockerd's PATH names
	if hostLinkDir == "" {
		hostLinkDir = DefaultBuildkitLinkDir
	}
	linkDir := inRoot(o.Root, hostLinkDir)
	t, err := readTarget(o.Root, path)
	if err != nil {
		return Plan{}, err
	}
	old, rec, oldRec := t.old, t.rec, t.oldRec
	if old != nil && !strings.Contains(string(old), "[Service]") {
		return Plan{}, fmt.Errorf("%s: not a systemd drop-in (no [Service] section): left unchanged", path)
	}
	link := filepath.Join(linkDir, "runc")
	var p Plan
	p.Apply = []string{"systemctl daemon-reload && systemctl restart docker"}
	if o.Uninstall {
		p.Files = change(path, old, nil, 0o644)
		p.Links = []linkChange{{Path: link}}
		rec.finish(&p, path, oldRec, true)
		return p, nil
	}
	rec.willCreate(filepath.Dir(path))
	rec.willCreate(linkDir)
	p.Files = change(path, old, BuildkitDropIn(hostLinkDir), 0o644)
	rt, rtLink := o.runtimeLink()
	target := o.Binary
	if rtLink == nil {
		target = rt // the lean armhf-runc binary itself
	}
	p.Links = []linkChange{{Path: link, Target: target}}
	rec.finish(&p, path, oldRec, false)
	p.Notes = append(p.Notes,
		"for buildx builders of the docker-container driver (their own buildkitd), make armhf-shim available in the builder image "+
			"and create it with: docker buildx create --driver docker-container "+
			"--buildkitd-flags '--oci-worker-binary="+rt+"'")
	return p, nil
}
