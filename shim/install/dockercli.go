package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/armhf-shim/armhf-shim/dockercli/dockerbin"
	"github.com/armhf-shim/armhf-shim/internal/config"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// The docker-cli target puts the docker CLI wrapper first on PATH without
// touching the real docker: a `docker` symlink to the wrapper goes in the
// standard PATH directory nearest before the first directory holding a
// docker (/usr/local/bin when the real one is in /usr/bin, /usr/local/sbin
// when it is in /usr/local/bin), and the docker it fronts is written as
// "docker" in the wrapper's config file, which is what the wrapper execs
// (no PATH search, so it never finds itself). Standard directories, not a
// profile.d snippet: login and non-login shells and systemd services get
// them without reading any profile.

// DefaultCLIConfig is the wrapper's config file (its "docker" member names
// the real docker).
const DefaultCLIConfig = config.DefaultPath

// CLIWrapperName is the lean docker CLI wrapper shipped beside armhf-shim.
const CLIWrapperName = "armhf-docker"

// cliRecord is what install docker-cli did.
type cliRecord struct {
	Link   string `json:"link"`   // the docker link it created
	Target string `json:"target"` // where the link points
	Fronts string `json:"fronts"` // the real docker
	// SetKey: install wrote "docker" into the config file (it was absent).
	SetKey bool `json:"setKey,omitempty"`
}

// cliWrapper is what the docker link points at: the lean armhf-docker
// beside armhf-shim when it is there, else the multi-call binary (which is
// the wrapper when called as docker).
func (o *Options) cliWrapper() string {
	if filepath.Base(o.Binary) == CLIWrapperName {
		return o.Binary
	}
	p := filepath.Join(filepath.Dir(o.Binary), CLIWrapperName)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p
	}
	return o.Binary
}

func (o *Options) searchPath() string {
	if o.pathEnv != "" {
		return o.pathEnv
	}
	return systemdPATH
}

// IsDockerWrapper reports whether the program at path is armhf-shim's
// docker CLI wrapper (a link to it or a copy of any version): it carries
// the name of the wrapper's exec-chain variable, which no docker does.
func IsDockerWrapper(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	marker := []byte(dockerbin.ChainEnv)
	buf := make([]byte, 1<<20)
	keep := 0
	for {
		n, err := io.ReadFull(f, buf[keep:])
		if bytes.Contains(buf[:keep+n], marker) {
			return true
		}
		if err != nil {
			return false
		}
		keep = copy(buf, buf[keep+n-len(marker):keep+n])
	}
}

// firstDocker is the first "docker" on PATH (dir and path; "" when none),
// skipping the link install made (skip).
func firstDocker(pathEnv, skip string) (dir, path string) {
	for _, d := range filepath.SplitList(pathEnv) {
		p := filepath.Join(d, dockerbin.Name)
		if p == skip {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return d, p
		}
	}
	return "", ""
}

// cliLinkDir is where the docker link goes: of the PATH directories before
// dockerDir, the nearest bin directory (on every user's PATH, where an
// sbin directory is on root's and services' only), else the nearest one;
// "" when none precedes it. With no docker on PATH, the last bin
// directory before /usr/bin.
func cliLinkDir(pathEnv, dockerDir string) string {
	if dockerDir == "" {
		dockerDir = "/usr/bin"
	}
	var before []string
	for _, d := range filepath.SplitList(pathEnv) {
		if d == dockerDir {
			break
		}
		if d != "" {
			before = append(before, d)
		}
	}
	for i := len(before) - 1; i >= 0; i-- {
		if filepath.Base(before[i]) == "bin" {
			return before[i]
		}
	}
	if len(before) == 0 {
		return ""
	}
	return before[len(before)-1]
}

func planDockerCLI(o Options) (Plan, error) {
	path := o.Config
	if path == "" {
		path = DefaultCLIConfig
	}
	path, err := resolve("", path)
	if err != nil {
		return Plan{}, err
	}
	t, err := readTarget("", path)
	if err != nil {
		return Plan{}, err
	}
	old, mode, rec, oldRec := t.old, t.mode, t.rec, t.oldRec
	doc, err := parseJSONDoc(old)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: malformed config file (%v): left unchanged; fix or move it and run again", path, err)
	}
	raw, err := doc.get("docker")
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %v: left unchanged", path, err)
	}
	configured, err := rawjson.MemberString(raw)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: \"docker\": %v: left unchanged", path, err)
	}
	var p Plan
	if o.Uninstall {
		return uninstallDockerCLI(o, p, path, old, mode, doc, configured, rec, oldRec)
	}

	wrapper := o.cliWrapper()
	pathEnv := o.searchPath()
	ourLink := ""
	if rec.CLI != nil {
		ourLink = rec.CLI.Link
	}
	firstDir, first := firstDocker(pathEnv, ourLink)

	// The docker to front: --docker, else the configured one, else the
	// first on PATH.
	fronts := o.Docker
	switch {
	case fronts == "" && configured != "":
		fronts = configured
	case fronts == "":
		fronts = first
	}
	if fronts == "" {
		return Plan{}, fmt.Errorf("no docker on PATH (%s): install the docker CLI first, or name it with --docker PATH", pathEnv)
	}
	if !filepath.IsAbs(fronts) {
		return Plan{}, fmt.Errorf("the docker to front, %q, must be an absolute path", fronts)
	}
	if configured != "" && configured != fronts {
		return Plan{}, fmt.Errorf("%s already names %s as the real docker, not %s: left unchanged; edit or remove its \"docker\" member first", path, configured, fronts)
	}
	if id, exe, err := fsutil.Identify(fronts); err != nil || !exe {
		return Plan{}, fmt.Errorf("the docker to front, %s, is not an executable file", fronts)
	} else if wid, _, err := fsutil.Identify(wrapper); (err == nil && wid == id) || IsDockerWrapper(fronts) {
		where := ""
		if fronts == first {
			where = ", the first docker on PATH,"
		}
		return Plan{}, fmt.Errorf("%s%s is already armhf-shim's docker wrapper (a copy or link, as the earlier documented "+
			"`install armhf-docker /usr/local/bin/docker` made), not the real docker CLI: refusing to front it (the wrapper would exec itself); "+
			"put the real docker back there, or name it with --docker PATH, and run again", fronts, where)
	}

	linkDir := o.LinkDir
	if linkDir == "" && rec.CLI != nil {
		linkDir = filepath.Dir(rec.CLI.Link)
	}
	if linkDir == "" {
		linkDir = cliLinkDir(pathEnv, firstDir)
		if linkDir == "" {
			return Plan{}, fmt.Errorf("the first docker on PATH, %s, is in its first directory (PATH %s): no standard directory precedes it; "+
				"choose one that comes first on the PATH of the shells and services that run docker with --link-dir DIR", first, pathEnv)
		}
	}
	link := filepath.Join(linkDir, dockerbin.Name)
	if link == fronts {
		return Plan{}, fmt.Errorf("--link-dir %s holds the docker to front, %s: choose a directory before it on PATH", linkDir, fronts)
	}
	if st, err := os.Lstat(link); err == nil {
		cur, _ := os.Readlink(link)
		if st.Mode()&fs.ModeSymlink == 0 || cur != wrapper && !(rec.CLI != nil && rec.CLI.Link == link) {
			return Plan{}, fmt.Errorf("%s exists and is not armhf-shim's link: left unchanged (choose another --link-dir)", link)
		}
	}

	cr := rec.CLI
	if cr == nil {
		cr = &cliRecord{}
	}
	cr.Link, cr.Target, cr.Fronts = link, wrapper, fronts
	nw := old
	if configured == "" {
		cr.SetKey = true
		if err := doc.set(rawjson.AppendString(nil, fronts), "docker"); err != nil {
			return Plan{}, fmt.Errorf("%s: %v: left unchanged", path, err)
		}
		// A new document already ends with its newline.
		nw = doc.b
	}
	rec.CLI = cr
	rec.willCreate(filepath.Dir(path))
	rec.willCreate(linkDir)
	if old == nil {
		mode = 0o644
	}
	p.Files = change(path, old, nw, mode)
	p.Links = []linkChange{{Path: link, Target: wrapper}}
	rec.finish(&p, path, oldRec, false)
	p.Apply = []string{fmt.Sprintf("nothing: `docker` now runs the wrapper %s, which execs %s; a shell that ran docker before may have remembered its old location: hash -r", link, fronts)}
	if !onPath(pathEnv, linkDir) {
		p.Notes = append(p.Notes, linkDir+" is not on the standard PATH: put it first in the PATH of the shells and services that run docker")
	} else if linkDir == "/usr/local/sbin" {
		p.Notes = append(p.Notes, "/usr/local/sbin is on root's PATH and systemd services' PATH, but not on Debian's default PATH of other users "+
			"(/etc/profile): a CI runner that runs as an ordinary user needs /usr/local/sbin first in its PATH")
	}
	return p, nil
}

func onPath(pathEnv, dir string) bool {
	for _, d := range filepath.SplitList(pathEnv) {
		if d == dir {
			return true
		}
	}
	return false
}

// uninstallDockerCLI removes the link install made (if it still points
// where install pointed it) and the "docker" member install wrote (if it
// still names what install wrote); a config file install created goes when
// nothing else is left in it.
func uninstallDockerCLI(o Options, p Plan, path string, old []byte, mode fs.FileMode, doc *jsonDoc, configured string, rec *record, oldRec []byte) (Plan, error) {
	cr := rec.CLI
	if cr == nil {
		return p, nil
	}
	if cur, err := os.Readlink(cr.Link); err == nil && cur == cr.Target {
		p.Links = []linkChange{{Path: cr.Link}}
	} else if !errors.Is(err, fs.ErrNotExist) {
		p.Notes = append(p.Notes, cr.Link+" no longer points at "+cr.Target+": left as it is")
	}
	nw := old
	if cr.SetKey && configured == cr.Fronts {
		if err := doc.remove("docker"); err != nil {
			return Plan{}, fmt.Errorf("%s: %v: left unchanged", path, err)
		}
		nw = doc.b
		if contains(rec.CreatedFiles, path) && doc.empty() {
			nw = nil
		}
	}
	p.Files = change(path, old, nw, mode)
	rec.CLI = nil
	rec.finish(&p, path, oldRec, true)
	p.Apply = []string{"nothing: `docker` is the real docker again (a shell may have remembered the wrapper's location: hash -r)"}
	return p, nil
}
