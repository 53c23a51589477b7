package kubenode

import (
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
)

func kinds(steps []Step) string {
	var s []string
	for _, st := range steps {
		s = append(s, st.String())
	}
	return strings.Join(s, "\n")
}

// The plan: everything on a native node (labels last), the labels alone
// elsewhere, and the undo whatever the node is.
func TestPlan(t *testing.T) {
	yes := Facts{Native: true, Labels: []doctor.NodeLabel{{Name: doctor.LabelAArch32, Value: "true"}}}
	no := Facts{Labels: []doctor.NodeLabel{{Name: doctor.LabelAArch32, Value: "false"}}}
	for _, tc := range []struct {
		name string
		o    Options
		f    Facts
		want string
	}{
		{"graviton3", Options{Source: "/usr/local/bin"}, yes, `copy /usr/local/bin/armhf-shim to /opt/armhf-shim/bin/armhf-shim
copy /usr/local/bin/armhf-runc to /opt/armhf-shim/bin/armhf-runc
containerd runtime handler for /etc/containerd/config.toml
restart containerd (systemd) if its configuration changed
node labels to /etc/kubernetes/node-feature-discovery/features.d/armhf-shim`},
		{"graviton4", Options{Source: "/usr/local/bin"}, no, `node labels to /etc/kubernetes/node-feature-discovery/features.d/armhf-shim`},
		{"undo", Options{Undo: true, Restart: RestartSignal}, yes, `containerd runtime handler for /etc/containerd/config.toml
restart containerd (signal) if its configuration changed
remove /opt/armhf-shim/bin/armhf-shim
remove /opt/armhf-shim/bin/armhf-runc
remove directory /opt/armhf-shim/bin if empty
remove directory /opt/armhf-shim if empty
remove /etc/kubernetes/node-feature-discovery/features.d/armhf-shim`},
		{"undo on graviton4, own paths", Options{Undo: true, BinDir: "/usr/local/lib/a32", ContainerdConfig: "/etc/k3s/config.toml", NFDFile: "/etc/nfd/a32"}, no, `containerd runtime handler for /etc/k3s/config.toml
restart containerd (systemd) if its configuration changed
remove /usr/local/lib/a32/armhf-shim
remove /usr/local/lib/a32/armhf-runc
remove directory /usr/local/lib/a32 if empty
remove /etc/nfd/a32`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Plan(tc.o, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(steps); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
			for _, s := range steps {
				if s.Kind == WriteLabels && string(s.Data) != string(doctor.NFDFeatures(tc.f.Labels)) {
					t.Errorf("labels %q", s.Data)
				}
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	for _, o := range []Options{
		{Restart: "reboot"},
		{BinDir: "opt/bin"},
		{NFDFile: "features.d/x"},
	} {
		if _, err := Plan(o, Facts{Native: true}); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
