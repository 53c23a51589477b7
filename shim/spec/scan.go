package spec

import (
	"fmt"
	"strings"
)

// ScanView decodes the decision facts of a config.json: the members
// process, root, annotations and linux.resources.cpu, found in one
// validating walk of data that steps over everything else, with
// encoding/json's results for them. It is what the runtime wrapper and
// the hook do on every create.
func ScanView(data []byte) (*View, error) {
	var top topMembers
	if err := (walker{data: data, fn: top.member, inner: "linux", innerFn: top.inLinux}).walk(); err != nil {
		return nil, malformed("", err)
	}
	v := &View{}
	if top.annotations != nil {
		ann, err := decodeStringMap(top.annotations)
		if err != nil {
			return nil, malformed("annotations: ", err)
		}
		v.Annotations = ann
	}
	if err := v.decodeRoot(top.root); err != nil {
		return nil, err
	}
	if err := v.decodeProcess(top.process); err != nil {
		return nil, err
	}
	if err := v.decodeCPU(top.linux, top.resources); err != nil {
		return nil, err
	}
	return v, nil
}

func malformed(where string, err error) error {
	return fmt.Errorf("malformed OCI config: %s%w", where, err)
}

// topMembers are the members of a config.json the decision reads.
type topMembers struct {
	annotations, process, root, linux []byte
	resources, pendingResources       []byte // linux.resources
}

// member and inLinux receive the walk's members; linux.resources is found
// while linux is walked (it is mostly the seccomp profile: one walk, not
// two). The last member of a name counts. (encoding/json, and so runc,
// decodes a repeated object member into the same struct, merging the two;
// no runtime writes a config.json that repeats a name.)
func (t *topMembers) member(_ []byte, name string, val []byte) {
	switch {
	case strings.EqualFold(name, "annotations"):
		t.annotations = val
	case strings.EqualFold(name, "process"):
		t.process = val
	case strings.EqualFold(name, "root"):
		t.root = val
	case strings.EqualFold(name, "linux"):
		t.linux = val
		t.resources, t.pendingResources = t.pendingResources, nil
	}
}

func (t *topMembers) inLinux(_ []byte, name string, val []byte) {
	if strings.EqualFold(name, "resources") {
		t.pendingResources = val
	}
}

func (v *View) decodeRoot(r []byte) error {
	if isNull(r) {
		return nil
	}
	path, err := stringMember(r, "path")
	if err != nil {
		return malformed("root: ", err)
	}
	v.Root = &struct {
		Path string `json:"path"`
	}{Path: path}
	return nil
}

// decodeProcess decodes process.args, env and cwd, not the capability
// lists around them.
func (v *View) decodeProcess(p []byte) error {
	if isNull(p) {
		return nil
	}
	var args, env, cwd []byte
	err := eachMember(p, func(name string, val []byte) {
		switch {
		case strings.EqualFold(name, "args"):
			args = val
		case strings.EqualFold(name, "env"):
			env = val
		case strings.EqualFold(name, "cwd"):
			cwd = val
		}
	})
	if err != nil {
		return malformed("process: ", err)
	}
	v.Process = &ViewProcess{}
	if v.Process.Args, err = decodeStrings(args); err != nil {
		return malformed("process.args: ", err)
	}
	if v.Process.Env, err = decodeStrings(env); err != nil {
		return malformed("process.env: ", err)
	}
	if v.Process.Cwd, err = decodeString(cwd); err != nil {
		return malformed("process.cwd: ", err)
	}
	return nil
}

// decodeCPU decodes linux.resources.cpu.cpus from the raw linux.resources.
func (v *View) decodeCPU(linux, res []byte) error {
	if !isNull(linux) && linux[0] != '{' {
		return malformed("linux: ", &TypeError{Want: "an object", Got: kindName(kindOf(linux))})
	}
	if isNull(res) {
		return nil
	}
	cpu, err := memberValue(res, "cpu")
	if err != nil {
		return malformed("linux.resources: ", err)
	}
	if isNull(cpu) {
		return nil
	}
	cpus, err := stringMember(cpu, "cpus")
	if err != nil {
		return malformed("linux.resources.cpu: ", err)
	}
	v.Linux = &ViewLinux{}
	v.Linux.Resources = &struct {
		CPU *ViewCPU `json:"cpu"`
	}{CPU: &ViewCPU{Cpus: cpus}}
	return nil
}

// stringMember decodes member key of the raw object obj as a string ("" when
// absent or null).
func stringMember(obj []byte, key string) (string, error) {
	raw, err := memberValue(obj, key)
	if err != nil {
		return "", err
	}
	return decodeString(raw)
}
