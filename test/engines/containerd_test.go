package engines

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// A private containerd of the pinned version loads its CRI plugin with the
// runc handler on the pinned runc, as crictl (the Kubernetes-side client)
// sees it: the runtime is ready, the handler is the default, and the OOM
// score restriction that lets it run here is in force.
func TestContainerdCRI(t *testing.T) {
	c := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	runc := testenv.Engine(t, "runc")

	out, stderr, err := c.Crictl("version")
	if err != nil {
		t.Fatalf("crictl version: %v\n%s\n%s", err, stderr, c.LogTail(30))
	}
	for _, want := range []string{"RuntimeName:  containerd", "RuntimeVersion:  " + testenv.EngineVersion(t, "containerd")} {
		if !strings.Contains(out, want) {
			t.Errorf("crictl version lacks %q:\n%s", want, out)
		}
	}

	var info struct {
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status bool   `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
		RuntimeHandlers []struct {
			Name string `json:"name"`
		} `json:"runtimeHandlers"`
		Config struct {
			Containerd struct {
				DefaultRuntimeName string `json:"defaultRuntimeName"`
				Runtimes           map[string]struct {
					RuntimeType string         `json:"runtimeType"`
					Options     map[string]any `json:"options"`
				} `json:"runtimes"`
			} `json:"containerd"`
			RestrictOOMScoreAdj bool `json:"restrictOOMScoreAdj"`
		} `json:"config"`
	}
	// The CRI plugin initialises after the socket listens: retry briefly.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, stderr, err = c.Crictl("info")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("crictl info: %v\n%s\n%s", err, stderr, c.LogTail(30))
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("crictl info: %v\n%s", err, out)
	}
	ready := false
	for _, cond := range info.Status.Conditions {
		ready = ready || cond.Type == "RuntimeReady" && cond.Status
	}
	if !ready {
		t.Errorf("RuntimeReady is not true: %+v", info.Status.Conditions)
	}
	handler := false
	for _, h := range info.RuntimeHandlers {
		handler = handler || h.Name == "runc"
	}
	if !handler {
		t.Errorf("no runc runtime handler: %+v", info.RuntimeHandlers)
	}
	cfg := info.Config.Containerd
	if cfg.DefaultRuntimeName != "runc" {
		t.Errorf("default runtime %q, want runc", cfg.DefaultRuntimeName)
	}
	r, ok := cfg.Runtimes["runc"]
	if !ok || r.RuntimeType != "io.containerd.runc.v2" || r.Options["BinaryName"] != runc {
		t.Errorf("runc runtime %+v (present %v), want io.containerd.runc.v2 with BinaryName %s", r, ok, runc)
	}
	if !info.Config.RestrictOOMScoreAdj {
		t.Error("restrictOOMScoreAdj is not in force")
	}
}
