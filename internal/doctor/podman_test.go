package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// Against Debian's podman: the podman-runtime route is judged by what
// podman info itself resolves, from the containers.conf install
// podman-runtime writes (CONTAINERS_CONF points podman and doctor at it,
// CONTAINERS_STORAGE_CONF keeps podman's storage in the test's
// directory): the default runtime; the runtime of podman run --runtime
// armhf; the binary removed, which with --set-as-default fails every
// podman command; and no registration at all.
func TestPodmanRuntimeRouteRealPodman(t *testing.T) {
	testenv.SkipShort(t, "podman")
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "podman")
	testenv.RequireCommand(t, "runc")
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "bin", "armhf-runc")
	os.MkdirAll(filepath.Dir(wrapper), 0o755)
	// armhf-shim's name, running the real runc (podman info asks it --version).
	os.WriteFile(wrapper, []byte("#!/bin/sh\nexec runc \"$@\"\n"), 0o755)
	storage := filepath.Join(dir, "storage.conf")
	os.WriteFile(storage, []byte("[storage]\ndriver = \"vfs\"\ngraphroot = \""+dir+"/graph\"\nrunroot = \""+dir+"/run\"\n"), 0o644)
	t.Setenv("CONTAINERS_STORAGE_CONF", storage)
	conf := filepath.Join(dir, "containers.conf")
	t.Setenv("CONTAINERS_CONF", conf)
	t.Cleanup(func() { testenv.UnmountBelow(dir) })
	judge := func(content []byte) Route {
		t.Helper()
		if err := os.WriteFile(conf, append([]byte("[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"), content...), 0o644); err != nil {
			t.Fatal(err)
		}
		r := JudgePodmanRuntime(newHost(Options{Root: "/"}).podmanRuntimeFacts())
		t.Logf("%s; problems %q", r.Detail, r.Problems)
		return r
	}
	// Only the drop-in's own lines, after the [engine] lines above.
	dropIn := func(def bool) []byte {
		b := install.PodmanRuntimeDropIn("armhf", wrapper, def)
		return []byte(strings.Replace(string(b), "[engine]\n", "", 1))
	}

	check(t, "--set-as-default", judge(dropIn(true)), verdict{installed: true, active: true, detail: []string{"podman's default runtime"}})
	check(t, "podman run --runtime armhf", judge(dropIn(false)), verdict{installed: true, active: true, detail: []string{"podman run --runtime armhf"}})
	os.Rename(wrapper, wrapper+".gone")
	check(t, "binary gone, the default", judge(dropIn(true)), verdict{installed: true, problems: []string{"every podman command fails"}})
	check(t, "binary gone", judge(dropIn(false)), verdict{installed: true, problems: []string{"podman run --runtime armhf fails"}})
	os.Rename(wrapper+".gone", wrapper)
	check(t, "not registered", judge(nil), verdict{detail: []string{"no containers.conf registers"}})
}
