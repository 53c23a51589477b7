package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

const testRunc = "/usr/local/bin/armhf-runc"

func bkEdit(replace bool) BuildkitdEdit {
	return BuildkitdEdit{Runtime: testRunc, Replace: replace, Ours: func(p string) bool { return p == testRunc }}
}

// Every sample: install registers the wrapper for each worker the file
// does not disable, changes nothing else (tomlSame, and the golden file
// shows where the lines go), a second install changes nothing, and
// uninstall gives back the bytes install found.
func TestBuildkitdSamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/buildkitd/*.toml")
	if len(files) < 8 {
		t.Fatalf("samples: %v", files)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".installed.toml") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			old, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			before, err := ParseBuildkitdConfig(old)
			if err != nil {
				t.Fatal(err)
			}
			rec := &record{}
			out, _, err := BuildkitdInstall(old, rec, bkEdit(false))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseBuildkitdConfig(out)
			if err != nil {
				t.Fatalf("installed file does not load: %v\n%s", err, out)
			}
			if c.Worker.OCI.Binary != testRunc {
				t.Errorf("[worker.oci] binary = %q", c.Worker.OCI.Binary)
			}
			keys := [][]string{BuildkitdOCIBinary}
			if before.ContainerdEnabled() {
				keys = append(keys, BuildkitdContainerdName, BuildkitdContainerdBinary)
				if c.Worker.Containerd.Runtime.Name != ContainerdRuncShim || c.ContainerdBinary() != testRunc {
					t.Errorf("containerd runtime = %q, BinaryName %q", c.Worker.Containerd.Runtime.Name, c.ContainerdBinary())
				}
			} else if c.ContainerdBinary() != before.ContainerdBinary() || c.Worker.Containerd.Runtime.Name != before.Worker.Containerd.Runtime.Name {
				t.Errorf("disabled containerd worker's runtime changed")
			}
			if err := tomlSame(old, out, keys...); err != nil {
				t.Error(err)
			}
			golden := strings.TrimSuffix(f, ".toml") + ".installed.toml"
			if want, err := os.ReadFile(golden); err != nil {
				t.Errorf("no golden file %s; the output is\n%s", golden, out)
			} else if !bytes.Equal(out, want) {
				t.Errorf("install gave\n%s\nwant (%s)\n%s", out, golden, want)
			}
			again, _, err := BuildkitdInstall(out, rec, bkEdit(false))
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("second install changed it (%v):\n%s", err, again)
			}
			back, notes, err := BuildkitdUninstall(out, rec)
			if err != nil || !bytes.Equal(back, old) || len(notes) > 0 {
				t.Errorf("uninstall (%v, notes %q) gave\n%q\nwant\n%q", err, notes, back, old)
			}
		})
	}
}

func TestBuildkitdRefusesForeignBinaries(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"oci crun", "[worker.oci]\n  binary = \"crun\" # faster\n[worker.containerd]\n  enabled = false\n", "crun"},
		{"containerd runsc", "[worker.containerd.runtime]\n  name = \"io.containerd.runsc.v1\"\n", "runsc"},
		{"containerd runc elsewhere", "[worker.containerd.runtime]\n  name = \"io.containerd.runc.v2\"\n  options = { BinaryName = \"/opt/runc-1.2/runc\" }\n", "/opt/runc-1.2/runc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &record{}
			_, _, err := BuildkitdInstall([]byte(tc.in), rec, bkEdit(false))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--replace") || !strings.Contains(err.Error(), "left unchanged") {
				t.Fatalf("err = %v, want a refusal naming %s with the --replace hint", err, tc.want)
			}
			rec = &record{}
			out, _, err := BuildkitdInstall([]byte(tc.in), rec, bkEdit(true))
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := ParseBuildkitdConfig(out); c.Worker.OCI.Binary != testRunc {
				t.Errorf("--replace: %s", out)
			}
			back, _, err := BuildkitdUninstall(out, rec)
			if err != nil || string(back) != tc.in {
				t.Errorf("uninstall after --replace (%v):\n%q\nwant\n%q", err, back, tc.in)
			}
		})
	}
}

// The default runc by name is replaced without --replace (the wrapper runs
// it), said in a note, and put back.
func TestBuildkitdReplacesDefaultRunc(t *testing.T) {
	in := "[worker.oci]\n  binary = \"buildkit-runc\"\n[worker.containerd.runtime]\n  name = \"io.containerd.runc.v2\"\n  options = { BinaryName = \"runc\", SystemdCgroup = true }\n"
	rec := &record{}
	out, notes, err := BuildkitdInstall([]byte(in), rec, bkEdit(false))
	if err != nil {
		t.Fatal(err)
	}
	want := "[worker.oci]\n  binary = \"" + testRunc + "\"\n[worker.containerd.runtime]\n  name = \"io.containerd.runc.v2\"\n  options = { BinaryName = \"" + testRunc + "\", SystemdCgroup = true }\n"
	if string(out) != want || len(notes) != 2 || !strings.Contains(notes[0], "buildkit-runc") {
		t.Fatalf("got\n%s\nnotes %q", out, notes)
	}
	back, _, _ := BuildkitdUninstall(out, rec)
	if string(back) != in {
		t.Errorf("uninstall:\n%s", back)
	}
}

func TestBuildkitdMalformed(t *testing.T) {
	for _, in := range []string{"[worker.oci\n", "worker = \"oci\"\n", "[worker.oci]\nbinary = 1\n", "[worker.oci]\nbinary = \"a\"\nbinary = \"b\"\n"} {
		_, _, err := BuildkitdInstall([]byte(in), &record{}, bkEdit(false))
		if err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

// A value the user changed after install stays, with a note; the rest is
// taken out.
func TestBuildkitdUninstallKeepsUserChange(t *testing.T) {
	in := "[worker.oci]\n  gc = true\n[worker.containerd]\n  enabled = false\n"
	rec := &record{}
	out, _, err := BuildkitdInstall([]byte(in), rec, bkEdit(false))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(out), testRunc, "/usr/bin/crun", 1)
	back, notes, err := BuildkitdUninstall([]byte(changed), rec)
	if err != nil || string(back) != changed || len(notes) != 1 || !strings.Contains(notes[0], "worker.oci.binary") {
		t.Errorf("uninstall of a changed value (%v): %q, notes %q", err, back, notes)
	}
}

// Install, through Run: a new file and its directory (removed again by
// uninstall), an existing one with a backup and an exact restore, and the
// diff of --dry-run.
func TestRunBuildkitd(t *testing.T) {
	dir, bin := setup(t)
	cfg := filepath.Join(dir, "etc", "buildkit", "buildkitd.toml")
	o := Options{Target: "buildkitd", Config: cfg, Binary: bin}
	out := run(t, o)
	rt := filepath.Join(filepath.Dir(bin), "armhf-runc")
	c, err := ParseBuildkitdConfig([]byte(readFile(t, cfg)))
	if err != nil || c.Worker.OCI.Binary != rt || c.ContainerdBinary() != rt {
		t.Fatalf("new buildkitd.toml (%v):\n%s\noutput:\n%s", err, readFile(t, cfg), out)
	}
	// The packaged unit reads the default file, not this one.
	if !strings.Contains(out, "restart buildkitd") || strings.Contains(out, "armhf-buildkitd.socket") || !strings.Contains(out, "--config "+cfg) {
		t.Errorf("output:\n%s", out)
	}
	if got := run(t, o); !strings.Contains(got, "nothing to do") {
		t.Errorf("second install: %s", got)
	}
	un := o
	un.Uninstall = true
	run(t, un)
	if _, err := os.Stat(filepath.Join(dir, "etc")); !os.IsNotExist(err) {
		t.Errorf("uninstall left %v", leftovers(t, dir))
	}

	sample, _ := os.ReadFile("testdata/buildkitd/upstream-v0.35.0.toml")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, sample, 0o640)
	dry := o
	dry.DryRun = true
	got := run(t, dry)
	if readFile(t, cfg) != string(sample) || !strings.Contains(got, "-  binary = \"\"\n+  binary = \""+rt+"\"") {
		t.Errorf("--dry-run:\n%s", got)
	}
	got = run(t, o)
	if !strings.Contains(got, "previous version saved as") {
		t.Errorf("install over the sample: %s", got)
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	run(t, un)
	if readFile(t, cfg) != string(sample) {
		t.Errorf("uninstall did not restore the sample:\n%s", readFile(t, cfg))
	}
}

// FuzzBuildkitdInstallUninstall: on any buildkitd.toml that loads, install
// registers the wrapper changing nothing else (or refuses), and uninstall
// gives back the bytes install found.
func FuzzBuildkitdInstallUninstall(f *testing.F) {
	files, _ := filepath.Glob("testdata/buildkitd/*.toml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, false)
		}
	}
	f.Add([]byte("[worker.oci]\nbinary = 'runc'\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, replace bool) {
		before, err := ParseBuildkitdConfig(in)
		if err != nil {
			return
		}
		rec := &record{}
		out, _, err := BuildkitdInstall(in, rec, bkEdit(replace))
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		c, err := ParseBuildkitdConfig(out)
		if err != nil || c.Worker.OCI.Binary != testRunc {
			t.Fatalf("%q: installed %q (%v)", in, out, err)
		}
		if before.ContainerdEnabled() && c.ContainerdBinary() != testRunc {
			t.Fatalf("%q: installed %q: containerd BinaryName %q", in, out, c.ContainerdBinary())
		}
		back, _, err := BuildkitdUninstall(out, rec)
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("%q: uninstall gave %q (%v)", in, back, err)
		}
	})
}

// A key the user added to a table install inserted stays in that table on
// uninstall, which still takes out install's key: taking the header out
// with it would move the user's key into the table above (or make the
// file invalid).
func TestBuildkitdUninstallKeepsUserKeyInInsertedTable(t *testing.T) {
	in := "[worker.containerd]\n  enabled = false\n"
	rec := &record{}
	out, _, err := BuildkitdInstall([]byte(in), rec, bkEdit(false))
	if err != nil {
		t.Fatal(err)
	}
	line := "  binary = \"" + testRunc + "\"\n"
	if !strings.Contains(string(out), "[worker.oci]\n"+line) {
		t.Fatalf("install did not insert [worker.oci]:\n%s", out)
	}
	for _, edited := range []string{
		strings.Replace(string(out), line, line+"  gc = true\n", 1),
		strings.Replace(string(out), "[worker.oci]\n", "[worker.oci]\n  gc = true\n", 1),
	} {
		r := &record{Buildkitd: &buildkitdRecord{Edits: append([]tomlEdit(nil), rec.Buildkitd.Edits...)}}
		back, notes, err := BuildkitdUninstall([]byte(edited), r)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := toml.Unmarshal(back, &m); err != nil {
			t.Fatalf("uninstall gave a file that does not load (%v):\n%s", err, back)
		}
		w, _ := m["worker"].(map[string]any)
		oci, _ := w["oci"].(map[string]any)
		cd, _ := w["containerd"].(map[string]any)
		if oci["binary"] != nil || len(notes) > 0 {
			t.Errorf("uninstall left the binary (notes %q):\n%s", notes, back)
		}
		if oci["gc"] != true || cd["gc"] != nil || m["gc"] != nil {
			t.Errorf("the user's [worker.oci] gc moved or went:\n%s", back)
		}
	}
}
