package install

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Paths are where Report looks.
type Paths struct {
	DockerConfig     string
	ContainerdConfig string
	HookFiles        []string
	BuildkitDropIn   string
	BuildkitLinkDir  string
}

// DefaultPaths are the install defaults (and the packaged hooks.d).
func DefaultPaths() Paths {
	return Paths{
		DockerConfig:     DefaultDockerConfig,
		ContainerdConfig: DefaultContainerd,
		HookFiles:        []string{defaultHookFile("/"), DefaultHookFile, LegacyHookFile},
		BuildkitDropIn:   DefaultBuildkitDropIn,
		BuildkitLinkDir:  DefaultBuildkitLinkDir,
	}
}

// Report says, one line per target, what of armhf-shim is installed.
func Report(p Paths) []string {
	return []string{reportDocker(p.DockerConfig), reportContainerd(p.ContainerdConfig), reportPodman(p.HookFiles), reportBuildkit(p)}
}

func reportDocker(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("docker: not installed (%v)", shortErr(err))
	}
	var c struct {
		Runtimes       map[string]struct{ Path string } `json:"runtimes"`
		DefaultRuntime string                           `json:"default-runtime"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Sprintf("docker: %s is malformed: %v", path, err)
	}
	var found []string
	for _, name := range sortedKeys(c.Runtimes) {
		if rp := c.Runtimes[name].Path; isShimPath(rp) {
			s := fmt.Sprintf("runtime %q -> %s", name, rp)
			if _, err := os.Stat(rp); err != nil {
				s += " (MISSING: " + shortErr(err) + ")"
			}
			if c.DefaultRuntime == name {
				s += " (default runtime)"
			}
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		return fmt.Sprintf("docker: not installed (%s has no armhf-shim runtime)", path)
	}
	return fmt.Sprintf("docker: %s in %s", strings.Join(found, ", "), path)
}

func reportContainerd(mainPath string) string {
	drop := DropInPath(mainPath)
	if h, ok, err := inPlaceHandlers(mainPath); err != nil {
		return fmt.Sprintf("containerd: %v", err)
	} else if ok {
		return fmt.Sprintf("containerd: runtime handler(s) %s in the CRI section of %s", h, mainPath)
	}
	b, err := os.ReadFile(drop)
	if err != nil {
		return fmt.Sprintf("containerd: not installed (%s: %s)", drop, shortErr(err))
	}
	main, err := os.ReadFile(mainPath)
	if err != nil {
		return fmt.Sprintf("containerd: %s present but %s is unreadable (%s): not active", drop, mainPath, shortErr(err))
	}
	c, _, err := parseMain(main)
	if err != nil {
		return fmt.Sprintf("containerd: %s: %v", mainPath, err)
	}
	if !imported(c.Imports, mainPath, drop) {
		return fmt.Sprintf("containerd: %s present but not in the imports of %s: not active", drop, mainPath)
	}
	var d mainConfig
	if err := tomlUnmarshal(b, &d); err != nil {
		return fmt.Sprintf("containerd: %s is malformed: %v", drop, err)
	}
	return fmt.Sprintf("containerd: runtime handler(s) %s in %s (imported by %s)", handlerNames(d), drop, mainPath)
}

func reportPodman(files []string) string {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var h hooksFile
		if err := json.Unmarshal(b, &h); err != nil {
			return fmt.Sprintf("podman/CRI-O: %s is malformed: %v", f, err)
		}
		s := fmt.Sprintf("podman/CRI-O: hook %s (%s) in %s", h.Hook.Path, strings.Join(h.Stages, ", "), f)
		if _, err := os.Stat(h.Hook.Path); err != nil {
			s += " (MISSING: " + shortErr(err) + ")"
		}
		return s
	}
	return "podman/CRI-O: not installed (no armhf-shim.json in " + strings.Join(dirs(files), " or ") + ")"
}

func reportBuildkit(p Paths) string {
	link := filepath.Join(p.BuildkitLinkDir, "runc")
	_, derr := os.Stat(p.BuildkitDropIn)
	target, lerr := os.Readlink(link)
	switch {
	case derr != nil && lerr != nil:
		return "buildkit: not installed (no " + p.BuildkitDropIn + ")"
	case derr != nil:
		return fmt.Sprintf("buildkit: %s -> %s present but %s is missing: not active", link, target, p.BuildkitDropIn)
	case lerr != nil:
		return fmt.Sprintf("buildkit: %s present but the link %s is missing: BuildKit fails to find runc", p.BuildkitDropIn, link)
	}
	return fmt.Sprintf("buildkit: dockerd's PATH starts with %s (runc -> %s) via %s", p.BuildkitLinkDir, target, p.BuildkitDropIn)
}

func dirs(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Dir(f)
	}
	return out
}

func shortErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// isShimPath reports whether a runtime path looks like armhf-shim's (by
// name: doctor has no binary to compare with).
func isShimPath(p string) bool {
	switch filepath.Base(p) {
	case RuntimeLinkName, "armhf-shim":
		return true
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		switch filepath.Base(real) {
		case RuntimeLinkName, "armhf-shim":
			return true
		}
	}
	return false
}

// inPlaceHandlers: where install wrote the handler into config.toml's own
// CRI section (its record says so), the handlers that section declares.
func inPlaceHandlers(mainPath string) (string, bool, error) {
	rec, _, err := loadRecord("", mainPath)
	if err != nil || len(rec.CRI) == 0 {
		return "", false, err
	}
	b, err := os.ReadFile(mainPath)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", mainPath, shortErr(err))
	}
	c, _, err := parseMain(b)
	if err != nil {
		return "", false, fmt.Errorf("%s: %v", mainPath, err)
	}
	return handlerNames(c), true, nil
}
