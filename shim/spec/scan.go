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
	var v View
	var top [4][]byte
	malformed := func(where string, err error) error {
		return fmt.Errorf("malformed OCI config: %s%w", where, err)
	}
	// linux.resources is found while linux is walked (it is mostly the
	// seccomp profile: one walk, not two); the last linux member counts.
	var res, pendingRes []byte
	keys := []string{"annotations", "process", "root", "linux"}
	err := rawjson.EachMemberInner(data, func(name, val []byte) {
		for k, key := range keys {
			if rawjson.NameIs(name, key) {
				top[k] = val
			}
		}
		if rawjson.NameIs(name, "linux") {
			res, pendingRes = pendingRes, nil
		}
	}, "linux", func(name, val []byte) {
		if rawjson.NameIs(name, "resources") {
			pendingRes = val
		}
	})
	if err != nil {
		return nil, malformed("", err)
	}
	if top[0] != nil {
		if v.Annotations, err = rawjson.StringMap(top[0]); err != nil {
			return nil, malformed("", err)
		}
	}
	if r := top[2]; r != nil && string(r) != "null" {
		path, err := stringMember(r, "path")
		if err != nil {
			return nil, malformed("root: ", err)
		}
		v.Root = &struct {
			Path string `json:"path"`
		}{Path: path}
	}
	// process: args, env and cwd, not the capability lists around them.
	if p := top[1]; p != nil && string(p) != "null" {
		var pm [3][]byte
		if err := rawjson.Members(p, []string{"args", "env", "cwd"}, pm[:]); err != nil {
			return nil, malformed("process: ", err)
		}
		v.Process = &ViewProcess{}
		if pm[0] != nil {
			if v.Process.Args, err = rawjson.Strings(pm[0]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
		if pm[1] != nil {
			if v.Process.Env, err = rawjson.Strings(pm[1]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
		if pm[2] != nil {
			if v.Process.Cwd, err = rawjson.String(pm[2]); err != nil {
				return nil, malformed("process: ", err)
			}
		}
	}
	// linux.resources.cpu without decoding linux (seccomp is its bulk).
	if linux := top[3]; linux != nil && string(linux) != "null" && linux[0] != '{' {
		return nil, malformed("linux: ", &rawjson.TypeError{Want: "an object", Got: rawjson.Kind(linux)})
	}
	if res == nil || string(res) == "null" {
		return &v, nil
	}
	cpu, err := object1(res, "cpu")
	if err != nil {
		return nil, malformed("linux.resources: ", err)
	}
	if cpu == nil {
		return &v, nil
	}
	cpus, err := stringMember(cpu, "cpus")
	if err != nil {
		return nil, malformed("linux.resources.cpu: ", err)
	}
	v.Linux = &ViewLinux{}
	v.Linux.Resources = &struct {
		CPU *ViewCPU `json:"cpu"`
	}{CPU: &ViewCPU{Cpus: cpus}}
	return &v, nil
}

// stringMember decodes member key of the raw object obj as a string ("" when
// absent or null).
func stringMember(obj []byte, key string) (string, error) {
	raw, err := rawjson.Member(obj, key)
	if err != nil || raw == nil {
		return "", err
	}
	return rawjson.String(raw)
}

// object1 returns member key of the raw object obj; nil for an absent or
// null obj or member.
func object1(obj []byte, key string) ([]byte, error) {
	if obj == nil || string(obj) == "null" {
		return nil, nil
	}
	raw, err := rawjson.Member(obj, key)
	if err != nil || raw == nil || string(raw) == "null" {
		return nil, err
	}
	return raw, nil
}
