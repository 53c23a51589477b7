package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestUnitForPackage(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ExecStart=/usr/local/bin/armhf-shim dind start\n", "ExecStart=/usr/bin/armhf-shim dind start\n"},
		{"ExecStart=-/usr/local/bin/armhf-runc x\n#   ExecStart=/usr/local/bin/armhf-shim y", "ExecStart=-/usr/bin/armhf-runc x\n#   ExecStart=/usr/bin/armhf-shim y"},
		// Only armhf-shim's own binaries move; the rest of the unit is kept.
		{"ExecStartPre=/usr/local/bin/other\nDocumentation=file:///usr/share/doc/armhf-shim/docker.md\n", "ExecStartPre=/usr/local/bin/other\nDocumentation=file:///usr/share/doc/armhf-shim/docker.md\n"},
	} {
		if got := string(UnitForPackage([]byte(c.in))); got != c.want {
			t.Errorf("UnitForPackage(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func inputs(units map[string][]byte) Inputs {
	return Inputs{
		Bins:        map[string]string{"armhf-shim": "b/s", "armhf-runc": "b/r", "armhf-docker": "b/d"},
		Units:       units,
		Docs:        map[string]string{"README.md": "README.md", "docker.md": "docs/docker.md"},
		Completions: map[string][]byte{"bash": {}, "zsh": {}, "fish": {}},
	}
}

func TestCheckUnits(t *testing.T) {
	for _, c := range []struct {
		unit, err string
	}{
		{"ExecStart=/usr/local/bin/armhf-shim docker --armhf-shim-prepare\nDocumentation=file:///usr/share/doc/armhf-shim/docker.md man:docker(1)\n", ""},
		{"ExecStart=/usr/local/bin/armhf-buildkitd\n", "ExecStart runs /usr/bin/armhf-buildkitd, which the package does not ship"},
		{"Documentation=file:///usr/share/doc/armhf-shim/buildkit.md\n", "Documentation file:///usr/share/doc/armhf-shim/buildkit.md is not in the package"},
		{"# ExecStart=/usr/local/bin/armhf-nothing\nExecStop=/bin/true\n", ""},
	} {
		fs, err := Contents(inputs(map[string][]byte{"x.service": []byte(c.unit)}))
		if err != nil {
			t.Fatal(err)
		}
		err = CheckUnits(fs)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.unit, err, c.err)
		}
	}
}

// TestRepoUnits: every unit in deploy/systemd, as packaged, runs binaries
// and points to documentation the package ships.
func TestRepoUnits(t *testing.T) {
	units, err := readUnits(filepath.Join("..", "..", "deploy", "systemd"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := readDocs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	in := inputs(units)
	in.Docs = docs
	fs, err := Contents(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckUnits(fs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if strings.HasPrefix(f.Dst, unitDir+"/") {
			n++
			if strings.Contains(string(f.Data), "/usr/local/bin/armhf-") {
				t.Errorf("%s still runs from /usr/local/bin", f.Dst)
			}
		}
	}
	if n != len(units) {
		t.Fatalf("%d units packaged, %d in deploy/systemd", n, len(units))
	}
}

func TestContentsZshPerPackager(t *testing.T) {
	fs, err := Contents(inputs(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		if strings.Contains(f.Dst, "zsh") {
			got[f.Packager] = f.Dst
		}
	}
	if got["deb"] != "/usr/share/zsh/vendor-completions/_armhf-shim" || got["rpm"] != "/usr/share/zsh/site-functions/_armhf-shim" || len(got) != 2 {
		t.Fatalf("zsh completions: %v", got)
	}
}
