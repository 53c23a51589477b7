package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Where the package puts things. Binaries go to /usr/bin (a package must
// not install into /usr/local), units to /usr/lib/systemd/system (systemd's
// directory for packaged units on usr-merged and split-/usr systems alike).
const (
	binDir  = "/usr/bin"
	unitDir = "/usr/lib/systemd/system"
	docDir  = "/usr/share/doc/armhf-shim"
)

// Static are the static binaries every package ships, for every arch.
var Static = []string{"armhf-shim", "armhf-runc", "armhf-docker"}

// File is one file of a package: Src on the build host (or Data, made by
// the packager), Dst in the package.
type File struct {
	Src  string
	Data []byte
	Dst  string
	Mode os.FileMode
	Doc  bool
	// Packager limits the file to "deb" or "rpm" ("" = both).
	Packager string
}

// Inputs is what the packages are made of.
type Inputs struct {
	Bins        map[string]string // name → built binary (for one arch)
	Units       map[string][]byte // deploy/systemd file name → content
	Docs        map[string]string // name under docDir → source file
	Completions map[string][]byte // "bash", "zsh", "fish" → script
}

// packagedExec rewrites the units' /usr/local/bin/armhf-* (where a source
// install puts the binaries, README: make build, install into /usr/local/bin)
// to /usr/bin, where the package puts them; nothing else in a unit changes.
var packagedExec = regexp.MustCompile(`/usr/local/bin/(armhf-[a-z0-9-]+)`)

// UnitForPackage is a deploy/systemd unit as the package ships it.
func UnitForPackage(unit []byte) []byte {
	return packagedExec.ReplaceAll(unit, []byte(binDir+"/$1"))
}

// Contents lists the files of the armhf-shim package.
func Contents(in Inputs) ([]File, error) {
	var out []File
	for _, b := range Static {
		src, ok := in.Bins[b]
		if !ok {
			return nil, fmt.Errorf("no %s binary", b)
		}
		out = append(out, File{Src: src, Dst: filepath.Join(binDir, b), Mode: 0o755})
	}
	for _, name := range sortedKeys(in.Units) {
		out = append(out, File{Data: UnitForPackage(in.Units[name]), Dst: filepath.Join(unitDir, name), Mode: 0o644})
	}
	for _, name := range sortedKeys(in.Docs) {
		out = append(out, File{Src: in.Docs[name], Dst: filepath.Join(docDir, name), Mode: 0o644, Doc: true})
	}
	for shell, dsts := range map[string][]struct{ dst, packager string }{
		"bash": {{"/usr/share/bash-completion/completions/armhf-shim", ""}},
		// Debian's zsh reads vendor-completions; Fedora's site-functions.
		"zsh":  {{"/usr/share/zsh/vendor-completions/_armhf-shim", "deb"}, {"/usr/share/zsh/site-functions/_armhf-shim", "rpm"}},
		"fish": {{"/usr/share/fish/vendor_completions.d/armhf-shim.fish", ""}},
	} {
		script, ok := in.Completions[shell]
		if !ok {
			return nil, fmt.Errorf("no %s completion", shell)
		}
		for _, d := range dsts {
			out = append(out, File{Data: script, Dst: d.dst, Mode: 0o644, Packager: d.packager})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst < out[j].Dst })
	return out, nil
}

// CheckUnits reports a unit whose Exec* program or Documentation= file is
// not in files: systemd would fail to start it, or send its reader nowhere.
func CheckUnits(files []File) error {
	have := map[string]bool{}
	for _, f := range files {
		have[f.Dst] = true
	}
	var bad []string
	for _, f := range files {
		if !strings.HasPrefix(f.Dst, unitDir+"/") {
			continue
		}
		for _, line := range strings.Split(string(f.Data), "\n") {
			key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok || strings.HasPrefix(key, "#") {
				continue
			}
			switch {
			case strings.HasPrefix(key, "Exec"):
				prog := strings.TrimLeft(strings.Fields(val + " x")[0], "-@:+!")
				if strings.HasPrefix(prog, "/") && strings.Contains(prog, "armhf-") && !have[prog] {
					bad = append(bad, fmt.Sprintf("%s: %s runs %s, which the package does not ship", filepath.Base(f.Dst), key, prog))
				}
			case key == "Documentation":
				for _, u := range strings.Fields(val) {
					if p, ok := strings.CutPrefix(u, "file://"); ok && !have[p] {
						bad = append(bad, fmt.Sprintf("%s: Documentation %s is not in the package", filepath.Base(f.Dst), u))
					}
				}
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// readUnits reads every unit file in dir (deploy/systemd).
func readUnits(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	units := map[string][]byte{}
	for _, e := range ents {
		switch filepath.Ext(e.Name()) {
		case ".service", ".socket", ".timer", ".path", ".target", ".mount":
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		units[e.Name()] = b
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("no systemd units in %s", dir)
	}
	return units, nil
}

// readDocs lists README.md and docs/*.md under repo.
func readDocs(repo string) (map[string]string, error) {
	docs := map[string]string{"README.md": filepath.Join(repo, "README.md")}
	md, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	for _, p := range md {
		docs[filepath.Base(p)] = p
	}
	return docs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
