package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
)

func planDocker(o Options) (Plan, error) {
	path := o.Config
	if path == "" {
		path = DefaultDockerConfig
	}
	old, mode, err := readExisting(path)
	if err != nil {
		return Plan{}, err
	}
	rt, link := o.runtimeLink()
	var p Plan
	var nw []byte
	if o.Uninstall {
		nw, err = DockerUninstall(old, o.RuntimeName)
	} else {
		nw, err = DockerInstall(old, o.RuntimeName, rt, o.SetAsDefault)
		if link != nil {
			p.Links = append(p.Links, *link)
		}
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	p.Files = change(path, old, nw, mode)
	p.Apply = []string{"kill -HUP $(pidof dockerd)   # or: systemctl reload docker (dockerd re-reads runtimes and default-runtime on SIGHUP)"}
	if !o.Uninstall {
		p.Notes = append(p.Notes, fmt.Sprintf("run 32-bit containers with docker run --runtime %s ... (auto-detected; force with --annotation io.armhf-shim.enable=true)", o.RuntimeName))
	}
	return p, nil
}

// parseObject parses a JSON object keeping raw members ({} for empty input).
func parseObject(data []byte, what string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		if err == nil {
			err = fmt.Errorf("not a JSON object")
		}
		return nil, fmt.Errorf("malformed %s (%v): left unchanged; fix or move it and run again", what, err)
	}
	return m, nil
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sameJSON reports whether two documents are equal as JSON values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// DockerInstall returns daemon.json with runtimes.<name>.path = runtimePath
// (other members of that runtime, and every other key, kept) and, if
// setDefault, default-runtime = name. Unchanged input is returned as is.
func DockerInstall(old []byte, name, runtimePath string, setDefault bool) ([]byte, error) {
	top, err := parseObject(old, "daemon.json")
	if err != nil {
		return nil, err
	}
	runtimes, err := dockerRuntimes(top)
	if err != nil {
		return nil, err
	}
	entry := map[string]json.RawMessage{}
	if r, ok := runtimes[name]; ok {
		if err := json.Unmarshal(r, &entry); err != nil || entry == nil {
			return nil, fmt.Errorf("malformed daemon.json: runtimes.%s is not an object: left unchanged", name)
		}
	}
	entry["path"] = raw(runtimePath)
	runtimes[name] = raw(entry)
	top["runtimes"] = raw(runtimes)
	if setDefault {
		top["default-runtime"] = raw(name)
	}
	nw, err := marshalIndent(top)
	if err != nil {
		return nil, err
	}
	if old != nil && sameJSON(old, nw) {
		return old, nil
	}
	return nw, nil
}

// DockerUninstall removes runtimes.<name> (only if it is armhf-shim's) and
// a default-runtime naming it.
func DockerUninstall(old []byte, name string) ([]byte, error) {
	if old == nil {
		return nil, nil
	}
	top, err := parseObject(old, "daemon.json")
	if err != nil {
		return nil, err
	}
	runtimes, err := dockerRuntimes(top)
	if err != nil {
		return nil, err
	}
	if r, ok := runtimes[name]; ok {
		var entry struct {
			Path string `json:"path"`
		}
		json.Unmarshal(r, &entry)
		if !isShimPath(entry.Path) {
			return nil, fmt.Errorf("runtimes.%s runs %q, not armhf-shim: left unchanged", name, entry.Path)
		}
		delete(runtimes, name)
		if len(runtimes) == 0 {
			delete(top, "runtimes")
		} else {
			top["runtimes"] = raw(runtimes)
		}
	}
	var def string
	if r, ok := top["default-runtime"]; ok && json.Unmarshal(r, &def) == nil && def == name {
		delete(top, "default-runtime")
	}
	nw, err := marshalIndent(top)
	if err != nil {
		return nil, err
	}
	if sameJSON(old, nw) {
		return old, nil
	}
	return nw, nil
}

// isShimPath reports whether a runtime path is armhf-shim's.
func isShimPath(p string) bool {
	switch filepath.Base(p) {
	case RuntimeLinkName, "armhf-shim":
		return true
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		switch filepath.Base(real) {
		case RuntimeLinkName, "armhf-shim":
			return true
		}
	}
	return false
}

// dockerRuntimes decodes daemon.json's "runtimes" object (empty when absent
// or null).
func dockerRuntimes(top map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	runtimes := map[string]json.RawMessage{}
	if r, ok := top["runtimes"]; ok && string(r) != "null" {
		if err := json.Unmarshal(r, &runtimes); err != nil || runtimes == nil {
			return nil, fmt.Errorf("malformed daemon.json: \"runtimes\" is not an object: left unchanged")
		}
	}
	return runtimes, nil
}
