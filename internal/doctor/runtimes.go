package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/armhf-shim/armhf-shim/shim/runtimecfg"
	"github.com/armhf-shim/armhf-shim/shim/statedir"
)

// RuntimeInfo is a real OCI runtime found on PATH.
type RuntimeInfo struct {
	Name               string `json:"name"`
	Path               string `json:"path"`
	Version            string `json:"version"`
	HonoursPersonality bool   `json:"honours_personality"`
	Note               string `json:"note,omitempty"`
}

// findRuntimes looks for runc and crun on PATH, skipping this binary (it
// may be installed as runc).
func findRuntimes() []RuntimeInfo {
	selfReal := executable()
	var out []RuntimeInfo
	seen := map[string]bool{}
	for _, name := range []string{"runc", "crun"} {
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			p := filepath.Join(dir, name)
			real, err := filepath.EvalSymlinks(p)
			if err != nil || seen[real] {
				continue
			}
			if st, err := os.Stat(real); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				continue
			}
			seen[real] = true
			if real == selfReal {
				continue
			}
			rt := RuntimeInfo{Name: name, Path: p}
			b, err := exec.Command(p, "--version").Output()
			if err != nil {
				rt.Note = "--version failed: " + err.Error()
			}
			rt.Version, rt.HonoursPersonality, rt.Note = runtimeVersion(name, string(b), rt.Note)
			out = append(out, rt)
			break
		}
	}
	return out
}

var versionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(runc|crun) version v?(\d+)\.(\d+)(\S*)`)
})

// runtimeVersion parses `runc --version` / `crun --version` output and
// says whether that version applies the OCI linux.personality field: runc
// from 1.2, crun from 0.11 (Debian's runc 1.1.5 ignores it — verified).
func runtimeVersion(name, out, note string) (version string, honours bool, outNote string) {
	m := versionRE().FindStringSubmatch(out)
	if m == nil || m[1] != name {
		if note == "" {
			note = "version not recognised"
		}
		return "unknown", false, note
	}
	major, _ := strconv.Atoi(m[2])
	minor, _ := strconv.Atoi(m[3])
	version = m[2] + "." + m[3] + m[4]
	switch name {
	case "runc":
		honours = major > 1 || major == 1 && minor >= 2
	case "crun":
		honours = major > 0 || minor >= 11
	}
	if !honours && note == "" {
		note = "the wrapper sets the personality itself"
	}
	return version, honours, note
}

// runtimeWrapper says which real runtime the runtime wrapper, configured
// by cfg (or failing with cfgErr), would exec and how many containers it
// currently has cpuinfo files for; findErr is why it would find none.
func runtimeWrapper(cfg runtimecfg.Config, cfgErr error) (lines []string, findErr error) {
	if cfgErr != nil {
		return []string{cfgErr.Error()}, nil
	}
	self, err := runtimecfg.SelfID(os.Args[0])
	if err != nil {
		return []string{err.Error()}, nil
	}
	if rt, err := runtimecfg.Find(cfg.Runtime, cfg.RuntimeSource, os.Getenv("PATH"), self, nil); err != nil {
		lines, findErr = append(lines, err.Error()), err
	} else {
		lines = append(lines, fmt.Sprintf("execs %s (%s)", rt, cfg.RuntimeSource))
	}
	ids, err := statedir.Dir{Root: cfg.StateRoot}.Containers()
	if err != nil {
		return append(lines, fmt.Sprintf("state root %s: %v", cfg.StateRoot, err)), findErr
	}
	return append(lines, fmt.Sprintf("%d container(s) with an armv7 cpuinfo under %s", len(ids), cfg.StateRoot)), findErr
}
