package spec

import (
	"fmt"

	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// ScanView decodes the decision facts of a config.json: it decodes only
// the members it needs (process, root, annotations and
// linux.resources.cpu), stepping over the rest in one structural pass
// (package rawjson), with encoding/json's results for them. It is what the
// runtime wrapper and the hook do on every create.
func ScanView(data []byte) (*View, error) {
	var top topMembers
	if err := top.scan(data); err != nil {
		return nil, malformed("", err)
	}
	v := &View{}
	if top.annotations != nil {
		ann, err := rawjson.StringMap(top.annotations)
		if err != nil {
			return nil, malformed("", err)
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

// scan finds them in one walk of data; linux.resources is found while
// linux is walked (it is mostly the seccomp profile: one walk, not two).
// The last member of a name counts. (encoding/json, and so runc, decodes
// a repeated object member into the same struct, merging the two; no
// runtime writes a config.json that repeats a name.)
func (t *topMembers) scan(data []byte) error {
	return rawjson.EachMemberInner(data, func(name, val []byte) {
		switch {
		case rawjson.NameIs(name, "annotations"):
			t.annotations = val
		case rawjson.NameIs(name, "process"):
			t.process = val
		case rawjson.NameIs(name, "root"):
			t.root = val
		case rawjson.NameIs(name, "linux"):
			t.linux = val
			t.resources, t.pendingResources = t.pendingResources, nil
		}
	}, "linux", func(name, val []byte) {
		if rawjson.NameIs(name, "resources") {
			t.pendingResources = val
		}
	})
}

func (v *View) decodeRoot(r []byte) error {
	if rawjson.IsNull(r) {
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
	if rawjson.IsNull(p) {
		return nil
	}
	var pm [3][]byte
	if err := rawjson.Members(p, []string{"args", "env", "cwd"}, pm[:]); err != nil {
		return malformed("process: ", err)
	}
	v.Process = &ViewProcess{}
	var err error
	if pm[0] != nil {
		if v.Process.Args, err = rawjson.Strings(pm[0]); err != nil {
			return malformed("process: ", err)
		}
	}
	if pm[1] != nil {
		if v.Process.Env, err = rawjson.Strings(pm[1]); err != nil {
			return malformed("process: ", err)
		}
	}
	if v.Process.Cwd, err = rawjson.MemberString(pm[2]); err != nil {
		return malformed("process: ", err)
	}
	return nil
}

// decodeCPU decodes linux.resources.cpu.cpus from the raw linux.resources.
func (v *View) decodeCPU(linux, res []byte) error {
	if !rawjson.IsNull(linux) && linux[0] != '{' {
		return malformed("linux: ", &rawjson.TypeError{Want: "an object", Got: rawjson.Kind(linux)})
	}
	if rawjson.IsNull(res) {
		return nil
	}
	cpu, err := object1(res, "cpu")
	if err != nil {
		return malformed("linux.resources: ", err)
	}
	if cpu == nil {
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
	raw, err := rawjson.Member(obj, key)
	if err != nil {
		return "", err
	}
	return rawjson.MemberString(raw)
}

// object1 returns member key of the raw object obj; nil for an absent or
// null obj or member.
func object1(obj []byte, key string) ([]byte, error) {
	if rawjson.IsNull(obj) {
		return nil, nil
	}
	raw, err := rawjson.Member(obj, key)
	if err != nil || rawjson.IsNull(raw) {
		return nil, err
	}
	return raw, nil
}
