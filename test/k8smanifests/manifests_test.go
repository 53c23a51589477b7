package k8smanifests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const dir = "../../deploy/kubernetes"

// doc is one YAML document of a manifest, decoded into its API type.
type doc struct {
	file string
	kind string
	obj  any
}

// decodeStrict decodes one document into the k8s.io/api type its
// apiVersion and kind name: unknown fields and duplicate keys are errors.
func decodeStrict(b []byte) (string, any, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(b, &tm); err != nil {
		return "", nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "v1 Pod":
		obj = &corev1.Pod{}
	case "apps/v1 DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "node.k8s.io/v1 RuntimeClass":
		obj = &nodev1.RuntimeClass{}
	default:
		return "", nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows (add it)", tm.APIVersion, tm.Kind)
	}
	// The API server's strict field validation: sigs.k8s.io/json matches
	// field names case-sensitively (encoding/json would take hostPid for
	// hostPID) and reports unknown and repeated fields.
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return "", nil, err
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return "", nil, err
	}
	if len(strict) > 0 {
		return "", nil, errors.Join(strict...)
	}
	return tm.Kind, obj, nil
}

// splitDocs splits a YAML stream at its "---" lines, dropping documents
// that hold only comments.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		empty := true
		for _, l := range strings.Split(d, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				empty = false
			}
		}
		if !empty {
			out = append(out, []byte(d))
		}
	}
	return out
}

func loadAll(t *testing.T) []doc {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	var docs []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range splitDocs(b) {
			kind, obj, err := decodeStrict(d)
			if err != nil {
				t.Errorf("%s, document %d: %v", filepath.Base(f), i+1, err)
				continue
			}
			docs = append(docs, doc{filepath.Base(f), kind, obj})
		}
	}
	return docs
}

// The decoder is strict: a misspelt field, a field at the wrong level, a
// field in the wrong case and a repeated key are each an error, so the manifests' passing means something.
func TestDecodeStrictRejects(t *testing.T) {
	for _, bad := range []string{
		"apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: x}\nhandlr: armhf\n",
		"apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: x}\nhandler: armhf\nnodeSelector: {a: b}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {template: {spec: {hostPid: true}}}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
	} {
		if _, _, err := decodeStrict([]byte(bad)); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
	if _, _, err := decodeStrict([]byte("apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: x}\nhandler: armhf\n")); err != nil {
		t.Errorf("a valid RuntimeClass: %v", err)
	}
}

// Every document of deploy/kubernetes decodes strictly, and the pieces fit
// together: the RuntimeClass names install's handler and selects on
// doctor's label, the DaemonSets mount the node's / where --root says, run
// flags node-install has, and use the namespace and service account
// defined beside them.
func TestManifests(t *testing.T) {
	docs := loadAll(t)
	byKind := map[string][]doc{}
	for _, d := range docs {
		byKind[d.kind] = append(byKind[d.kind], d)
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "RuntimeClass", "DaemonSet", "Pod"} {
		if len(byKind[k]) == 0 {
			t.Errorf("no %s in %s", k, dir)
		}
	}
	if t.Failed() {
		return
	}
	ns := byKind["Namespace"][0].obj.(*corev1.Namespace).Name
	sa := byKind["ServiceAccount"][0].obj.(*corev1.ServiceAccount)
	if sa.Namespace != ns {
		t.Errorf("service account in %q, namespace is %q", sa.Namespace, ns)
	}

	handler := goConst(t, "shim/install/install.go", `DefaultRuntimeName\s*=\s*"([^"]+)"`)
	label := goConst(t, "internal/doctor/nfd.go", `LabelPrefix\s*=\s*"([^"]+)"`) +
		goConst(t, "internal/doctor/nfd.go", `LabelAArch32\s*=\s*LabelPrefix \+ "([^"]+)"`)
	rc := byKind["RuntimeClass"][0].obj.(*nodev1.RuntimeClass)
	if rc.Handler != handler {
		t.Errorf("RuntimeClass handler %q, install registers %q", rc.Handler, handler)
	}
	if rc.Scheduling == nil || len(rc.Scheduling.NodeSelector) != 1 || rc.Scheduling.NodeSelector[label] != "true" {
		t.Errorf("RuntimeClass scheduling %+v: want nodeSelector %s: \"true\"", rc.Scheduling, label)
	}
	for _, d := range byKind["Pod"] {
		if p := d.obj.(*corev1.Pod); p.Spec.RuntimeClassName == nil || *p.Spec.RuntimeClassName != rc.Name {
			t.Errorf("%s: pod %s does not use RuntimeClass %s", d.file, p.Name, rc.Name)
		}
	}

	flags := nodeInstallFlags(t)
	undo := map[bool]int{}
	for _, d := range byKind["DaemonSet"] {
		ds := d.obj.(*appsv1.DaemonSet)
		checkDaemonSet(t, d.file, ds, ns, sa.Name, flags)
		u := false
		for _, a := range ds.Spec.Template.Spec.InitContainers[0].Command {
			u = u || a == "--undo"
		}
		undo[u]++
	}
	if undo[false] != 1 || undo[true] != 1 {
		t.Errorf("want one installer and one uninstaller (--undo) DaemonSet: %v", undo)
	}
}

func checkDaemonSet(t *testing.T, file string, ds *appsv1.DaemonSet, ns, sa string, flags map[string]bool) {
	t.Helper()
	s := ds.Spec.Template.Spec
	if ds.Namespace != ns || s.ServiceAccountName != sa {
		t.Errorf("%s: namespace %q, service account %q", file, ds.Namespace, s.ServiceAccountName)
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template", file, k, v)
		}
	}
	if !s.HostPID {
		t.Errorf("%s: hostPID is needed for --restart=signal", file)
	}
	if len(s.InitContainers) != 1 || len(s.Containers) != 1 {
		t.Fatalf("%s: want one init container (the work) and one container (pause)", file)
	}
	ic := s.InitContainers[0]
	if len(ic.Command) < 2 || ic.Command[1] != "node-install" {
		t.Fatalf("%s: init container runs %q", file, ic.Command)
	}
	root := ""
	for _, a := range ic.Command[2:] {
		name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !flags[name] {
			t.Errorf("%s: %q is not a flag of node-install", file, a)
		}
		if name == "root" {
			root = val
		}
	}
	if ic.SecurityContext == nil || ic.SecurityContext.Privileged == nil || !*ic.SecurityContext.Privileged {
		t.Errorf("%s: the installer must be privileged (chroot, systemctl, the node's files)", file)
	}
	hostRoot := map[string]bool{}
	for _, v := range s.Volumes {
		if v.HostPath != nil && v.HostPath.Path == "/" {
			hostRoot[v.Name] = true
		}
	}
	mounted := false
	for _, m := range ic.VolumeMounts {
		mounted = mounted || hostRoot[m.Name] && m.MountPath == root && !m.ReadOnly
	}
	if root == "" || !mounted {
		t.Errorf("%s: --root=%q is not where the node's / (hostPath /) is mounted read-write", file, root)
	}
	if c := s.Containers[0]; c.Image != ic.Image || strings.Join(c.Command[1:], " ") != "node-install --pause" {
		t.Errorf("%s: main container %q %q", file, c.Image, c.Command)
	}
}

// goConst is a string constant of the product's source, read from the file
// (this module does not import the product's: its go.sum would then have
// to follow every dependency the product adds).
func goConst(t *testing.T, file, re string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../..", file))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(re).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no %s", file, re)
	}
	return string(m[1])
}

// nodeInstallFlags are the flag names of node-install, from its source.
func nodeInstallFlags(t *testing.T) map[string]bool {
	b, err := os.ReadFile("../../cmd/armhf-shim/nodeinstall.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`Flag\{Name: "([a-z-]+)"`).FindAllSubmatch(b, -1) {
		out[string(m[1])] = true
	}
	if len(out) == 0 || !bytes.Contains(b, []byte(`Name:  "node-install"`)) {
		t.Fatalf("no node-install flags found in cmd/armhf-shim/nodeinstall.go")
	}
	return out
}
