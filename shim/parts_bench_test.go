package shim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/detect"
	"github.com/armhf-shim/armhf-shim/shim/modify"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"github.com/armhf-shim/armhf-shim/shim/runclog"
	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/spec"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
	"golang.org/x/sys/unix"
)

// envPartsChild makes the test binary one timed create (TestCreateParts).
const envPartsChild = "ARMHF_SHIM_PARTS_CHILD"

// TestCreateParts times the runtime wrapper's create step by step, each
// step once in a fresh process (a re-exec of this test binary), as the
// wrapper runs it: what counts is a step's cost in a cold process (first
// touch of its code and data), which an in-process benchmark loop hides.
// A 32-bit and a 64-bit create alternate, round after round, on the Docker
// fixture config (compact, on /dev/shm like Docker's bundles under /run).
// It reports medians per step; it asserts no time. Run it with
// ARMHF_SHIM_BENCH=1 (rounds: ARMHF_SHIM_BENCH_PARTS_ROUNDS, default 400).
func TestCreateParts(t *testing.T) {
	if os.Getenv(envPartsChild) != "" {
		createPartsChild(t)
		return
	}
	if os.Getenv("ARMHF_SHIM_BENCH") != "1" {
		t.Skip("a measurement: set ARMHF_SHIM_BENCH=1")
	}
	rounds := 400
	if v, err := strconv.Atoi(os.Getenv("ARMHF_SHIM_BENCH_PARTS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	w := newWorld(t)
	// The state root on a tmpfs, as /run/armhf-shim is on a systemd host.
	if shm, err := os.MkdirTemp("/dev/shm", "armhf-parts-state-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		w.stateRoot = shm
	}
	dirs := map[string]string{"32": partsBundle(t, i386Exe), "64": partsBundle(t, amd64Exe)}
	configs := map[string][]byte{}
	for k, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		configs[k] = b
	}
	env := append(os.Environ(), "PATH="+w.pathDir, config.EnvPath+"="+w.env[config.EnvPath])
	times := map[string]map[string][]time.Duration{"32": {}, "64": {}}
	var order []string
	for r := 0; r < rounds; r++ {
		kinds := []string{"32", "64"}
		if r%2 == 1 {
			kinds = []string{"64", "32"}
		}
		for _, k := range kinds {
			// Untimed: the config back as Docker wrote it, no cpuinfo state.
			if err := os.WriteFile(filepath.Join(dirs[k], "config.json"), configs[k], 0o644); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(filepath.Join(w.stateRoot, "containers"))
			cmd := exec.Command(os.Args[0], "-test.run=^TestCreateParts$")
			cmd.Env = append(env, envPartsChild+"="+k,
				"ARMHF_SHIM_PARTS_ARGS="+strings.Join([]string{"--armhf-shim-state-root", w.stateRoot, "--root", w.runcRoot,
					"create", "--bundle", dirs[k], "parts-" + strconv.Itoa(r)}, "\x1f"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			line := ""
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "PARTS ") {
					line = strings.TrimPrefix(l, "PARTS ")
				}
			}
			if line == "" {
				t.Fatalf("child printed no parts:\n%s", out)
			}
			for _, f := range strings.Fields(line) {
				name, ns, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseInt(ns, 10, 64)
				if _, ok := times[k][name]; !ok && k == "32" {
					order = append(order, name)
				}
				times[k][name] = append(times[k][name], time.Duration(n))
			}
		}
	}
	median := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| step | 32-bit create: median | 64-bit create: median |\n| --- | --- | --- |\n")
	for _, name := range order {
		m64 := "—"
		if d := times["64"][name]; len(d) > 0 {
			m64 = fmt.Sprintf("%.1f µs", float64(median(d))/1e3)
		}
		fmt.Fprintf(&b, "| %s | %.1f µs | %s |\n", name, float64(median(times["32"][name]))/1e3, m64)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%d rounds, load average %s\n%s", rounds, strings.TrimSpace(string(load)), b.String())
}

// partsBundle is a bundle with the Docker fixture config, compact, its
// rootfs's /bin/sleep an exe, on /dev/shm where there is one.
func partsBundle(t *testing.T, exe []byte) string {
	dir, config := bundle(t, exe, nil)
	shm, err := os.MkdirTemp("/dev/shm", "armhf-parts-")
	if err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		if err := os.Rename(filepath.Join(dir, "rootfs"), filepath.Join(shm, "rootfs")); err != nil {
			// Another file system: keep the bundle where it is.
			os.RemoveAll(shm)
			shm = dir
		}
		dir = shm
	}
	var c bytes.Buffer
	if err := json.Compact(&c, config); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), c.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// createPartsChild is one create, the steps of Prepare, prepareCreate and
// make32 taken one by one with a clock read between them; it prints
// "PARTS step=ns ...". The stale-temp scan of fsutil.ReplaceOwnedFile is
// timed by itself first (the same system calls, staleScan), so the write
// that follows finds the directory's entries cached.
func createPartsChild(t *testing.T) {
	var parts []string
	last := time.Now()
	lap := func(name string) {
		now := time.Now()
		parts = append(parts, fmt.Sprintf("%s=%d", strings.ReplaceAll(name, " ", "_"), now.Sub(last).Nanoseconds()))
		last = now
	}
	fail := func(err error) { t.Fatalf("%v", err) }
	args := strings.Split(os.Getenv("ARMHF_SHIM_PARTS_ARGS"), "\x1f")
	env := ProcessEnv()
	env.SelfID = func() (runtimecfg.FileID, error) { return runtimecfg.SelfID(os.Args[0]) }
	last = time.Now()

	inv, err := runcargs.Parse(args)
	if err != nil {
		fail(err)
	}
	log := runclog.New(inv.Global.Log, inv.Global.LogFormat, inv.Global.Debug)
	lap("parse argv, logger")
	cfg, err := runtimecfg.Load(inv.Shim, env.Getenv)
	if err != nil {
		fail(err)
	}
	lap("config file")
	if _, _, err := basePlan(inv, env, log, cfg); err != nil {
		fail(err)
	}
	lap("own binary, find runc, env")
	bundle, err := bundleDir(inv.Bundle)
	if err != nil {
		fail(err)
	}
	b := &detect.Bundle{Dir: bundle, ConfigPath: filepath.Join(bundle, "config.json")}
	data, st, err := fsutil.ReadRegular(b.ConfigPath, detect.MaxConfigSize)
	if err != nil {
		fail(err)
	}
	b.Config, b.Perm, b.UID, b.GID = data, fs.FileMode(st.Mode&0o777), int(st.Uid), int(st.Gid)
	lap("read config.json")
	if b.View, err = spec.ScanView(b.Config); err != nil {
		fail(err)
	}
	lap("scan config.json")
	v := b.View
	b.Rootfs = v.Rootfs(bundle)
	dec, err := detect.Decide(v.Annotations, v.Env(), detect.Auto(b.Rootfs, v.Args(), v.Env(), v.Cwd(), env.GOARCH))
	if err != nil {
		fail(err)
	}
	lap("detect (PATH, ELF header)")
	if !dec.Enable {
		fmt.Printf("PARTS %s\n", strings.Join(parts, " "))
		return
	}
	if err := env.canLinux32(); err != nil {
		fail(err)
	}
	lap("LINUX32 check (locked thread)")
	doc, err := spec.Parse(b.Config)
	if err != nil {
		fail(err)
	}
	lap("parse for the edit")
	existing, _, err := existingCPUInfo(doc, cfg.StateRoot)
	if err != nil {
		fail(err)
	}
	lap("cpuinfo mount check")
	dir := statedir.Dir{Root: cfg.StateRoot}
	var src string
	if existing.Replace() {
		if src, _, err = cpuinfoFile(inv, dir, b.View.Cpus()); err != nil {
			fail(err)
		}
	}
	lap("cpuinfo file (render or link)")
	machine, err := machineMods(b, env.GOARCH, cfg)
	if err != nil {
		fail(err)
	}
	if err := modify.Apply(doc, append(modify.For32Bit(src), machine...)...); err != nil {
		fail(err)
	}
	out, err := doc.Marshal()
	if err != nil {
		fail(err)
	}
	lap("edit, marshal")
	staleScan(bundle, ".config.json.tmp-")
	lap("stale-temp scan")
	if err := fsutil.ReplaceOwnedFile(b.ConfigPath, out, b.Perm, b.UID, b.GID); err != nil {
		fail(err)
	}
	lap("atomic write (scan again, warm)")
	fmt.Printf("PARTS %s\n", strings.Join(parts, " "))
}

// staleScan makes the system calls of fsutil's stale-temp removal: open
// the directory, read its entries, compare their names, close.
func staleScan(dir, prefix string) int {
	fd, err := fsutil.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	found := 0
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil || n <= 0 {
			return found
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if strings.HasPrefix(name, prefix) {
				found++
			}
		}
	}
}
