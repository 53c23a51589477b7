package dind

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// FlagKeys are daemon.json keys that dind passes as dockerd flags; dockerd
// refuses a setting given both ways.
var FlagKeys = []string{"data-root", "graph", "exec-root", "hosts", "pidfile"}

// MergeDaemonJSON returns daemon.json content: existing (nil or empty for
// none) with the armhf runtime registered at runtimePath and made the
// default (useRuntime), or with armhf-shim's own entries taken out again
// (!useRuntime). Every other key, and every other field of the runtime
// entry (runtimeArgs, ...), is kept.
func MergeDaemonJSON(existing []byte, runtimePath string, useRuntime bool) ([]byte, error) {
	cfg := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := json.Unmarshal(existing, &cfg); err != nil {
			return nil, fmt.Errorf("daemon.json: %v; fix or remove it", err)
		}
	}
	var clash []string
	for _, k := range FlagKeys {
		if _, ok := cfg[k]; ok {
			clash = append(clash, k)
		}
	}
	if len(clash) > 0 {
		return nil, fmt.Errorf("daemon.json sets %s, which armhf-shim dind sets itself from --dir; remove %s from it",
			strings.Join(clash, ", "), map[bool]string{true: "them", false: "it"}[len(clash) > 1])
	}

	runtimes := map[string]map[string]json.RawMessage{}
	if raw, ok := cfg["runtimes"]; ok {
		if err := json.Unmarshal(raw, &runtimes); err != nil {
			return nil, fmt.Errorf("daemon.json: runtimes: %v", err)
		}
	}
	pathJSON, _ := json.Marshal(runtimePath)
	defJSON, _ := json.Marshal(RuntimeName)
	if useRuntime {
		entry := runtimes[RuntimeName]
		if entry == nil {
			entry = map[string]json.RawMessage{}
		}
		entry["path"] = pathJSON
		runtimes[RuntimeName] = entry
		cfg["default-runtime"] = defJSON
	} else {
		if e, ok := runtimes[RuntimeName]; ok && bytes.Equal(e["path"], pathJSON) {
			delete(runtimes, RuntimeName)
		}
		if bytes.Equal(cfg["default-runtime"], defJSON) {
			delete(cfg, "default-runtime")
		}
	}
	if len(runtimes) > 0 {
		b, err := json.Marshal(runtimes)
		if err != nil {
			return nil, err
		}
		cfg["runtimes"] = b
	} else {
		delete(cfg, "runtimes")
	}
	// encoding/json writes map keys sorted: a stable file.
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
