package buildx

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// buildx's builder store: one JSON file per builder made by docker buildx
// create, in the instances directory of buildx's config directory
// (buildx v0.38.2, store/nodegroup.go; the docker driver's default
// builders have none).

// Instance is a stored builder.
type Instance struct {
	Name, Driver string
	Nodes        []Node
	File         string `json:"-"` // where it was read
}

// Node is one of a builder's nodes.
type Node struct {
	Name       string
	Endpoint   string // a docker context's name or a host (unix://, tcp://, kubernetes://)
	DriverOpts map[string]string
	Flags      []string          // buildkitd flags
	Files      map[string][]byte // "buildkitd.toml": its --buildkitd-config
}

// ConfigDirs are the buildx config directories of the user running this
// ($BUILDX_CONFIG, else $DOCKER_CONFIG/buildx, else ~/.docker/buildx) and,
// under sudo, of SUDO_USER (home from passwd), without repeats.
func ConfigDirs(getenv func(string) string, passwd string) []string {
	var dirs []string
	switch {
	case getenv("BUILDX_CONFIG") != "":
		dirs = append(dirs, getenv("BUILDX_CONFIG"))
	case getenv("DOCKER_CONFIG") != "":
		dirs = append(dirs, filepath.Join(getenv("DOCKER_CONFIG"), "buildx"))
	case getenv("HOME") != "":
		dirs = append(dirs, filepath.Join(getenv("HOME"), ".docker", "buildx"))
	}
	if u := getenv("SUDO_USER"); u != "" {
		if home := homeOf(passwd, u); home != "" {
			d := filepath.Join(home, ".docker", "buildx")
			if len(dirs) == 0 || filepath.Clean(dirs[0]) != d {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// homeOf is user's home directory in the passwd file.
func homeOf(passwd, user string) string {
	f, err := os.Open(passwd)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) >= 7 && p[0] == user {
			return p[5]
		}
	}
	return ""
}

// Instances reads the builders stored in configDir, by name; files that
// are not a builder are skipped.
func Instances(configDir string) []Instance {
	files, _ := filepath.Glob(filepath.Join(configDir, "instances", "*"))
	sort.Strings(files)
	var out []Instance
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var in Instance
		if json.Unmarshal(b, &in) != nil || in.Name == "" {
			continue
		}
		in.File = file
		out = append(out, in)
	}
	return out
}
