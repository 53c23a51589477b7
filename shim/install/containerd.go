package install

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// criPlugin is the plugin holding runtime handlers in each config version.
func criPlugin(version int) string {
	if version >= 3 {
		return "io.containerd.cri.v1.runtime"
	}
	return "io.containerd.grpc.v1.cri"
}

// DropInPath is the drop-in for main config path.
func DropInPath(mainConfig string) string {
	return filepath.Join(filepath.Dir(mainConfig), "conf.d", "armhf-shim.toml")
}

// ContainerdDropIn renders the drop-in declaring runtime handler name.
// withRunc also declares containerd's default handler, runc, as its
// defaults have it: containerd 1.x decodes a CRI section over its defaults
// with a runtimes map that replaces theirs, so a drop-in declaring only
// armhf would leave default_runtime_name = "runc" naming nothing, and the
// CRI plugin would not load. containerd 2.x keeps the default entries, and
// an explicit runc of the same type changes nothing there.
func ContainerdDropIn(version int, name, binary string, setDefault, withRunc bool) []byte {
	p := fmt.Sprintf("plugins.%q.containerd", criPlugin(version))
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by armhf-shim install containerd: the runtime handler %q runs\n", name)
	b.WriteString("# armhf-shim, which makes armhf (32-bit) containers see an armv7 machine and\n")
	b.WriteString("# passes every other container straight to runc. Usable as the handler of a\n")
	fmt.Fprintf(&b, "# Kubernetes RuntimeClass (handler: %s).\n", name)
	if withRunc {
		b.WriteString("# runc is containerd's default handler, declared because containerd 1.x\n")
		b.WriteString("# replaces its default handlers with those of this file.\n")
	}
	fmt.Fprintf(&b, "version = %d\n", version)
	if setDefault {
		fmt.Fprintf(&b, "\n[%s]\n  default_runtime_name = %q\n", p, name)
	}
	if withRunc {
		fmt.Fprintf(&b, "\n[%s.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n", p)
	}
	fmt.Fprintf(&b, "\n[%s.runtimes.%s]\n  runtime_type = \"io.containerd.runc.v2\"\n", p, name)
	fmt.Fprintf(&b, "\n[%s.runtimes.%s.options]\n  BinaryName = %q\n", p, name, binary)
	return []byte(b.String())
}

// declaresRunc reports whether config c declares the runc handler itself,
// which the drop-in then leaves alone.
func declaresRunc(c mainConfig, version int) bool {
	pl, _ := c.Plugins[criPlugin(version)].(map[string]any)
	ctd, _ := pl["containerd"].(map[string]any)
	rts, _ := ctd["runtimes"].(map[string]any)
	_, ok := rts["runc"]
	return ok
}

// containerdVersion asks `bin --version` ("1.6.20"; "" if unavailable).
// Below a root other than /, bin is the host's and runs chrooted there,
// with the host's libraries; where chroot is not allowed, as it is.
func containerdVersion(root, bin string) string {
	cmd := exec.Command(bin, "--version")
	if root != "" && root != "/" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
	}
	out, err := cmd.Output()
	if err != nil && cmd.SysProcAttr != nil {
		out, err = exec.Command(inRoot(root, bin), "--version").Output()
	}
	if err != nil {
		return ""
	}
	return parseContainerdVersion(out)
}

// lookContainerd finds containerd on PATH, or below a root other than /
// in the PATH systemd gives services there (a host path).
func lookContainerd(root string) (string, error) {
	if root == "" || root == "/" {
		return exec.LookPath("containerd")
	}
	for _, d := range filepath.SplitList(systemdPATH) {
		p := filepath.Join(d, "containerd")
		if st, err := os.Stat(inRoot(root, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no containerd in the host's PATH %s below %s", systemdPATH, root)
}

// parseContainerdVersion finds the version in `containerd --version`'s
// line: "containerd github.com/containerd/containerd 1.6.20~ds1 ..." or
// "containerd containerd.io v2.4.2 <commit>".
func parseContainerdVersion(out []byte) string {
	m := regexp.MustCompile(`\b(v?\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.TrimPrefix(string(m[1]), "v")
}

// majorMinor parses "1.6.20" into 1, 6.
func majorMinor(v string) (int, int, bool) {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.Atoi(f[1])
	return a, b, err1 == nil && err2 == nil
}

// mainConfig is what install reads from config.toml.
type mainConfig struct {
	Version int            `toml:"version"`
	Imports []string       `toml:"imports"`
	Plugins map[string]any `toml:"plugins"`
}

func parseMain(data []byte) (mainConfig, bool, error) {
	var c mainConfig
	if err := toml.Unmarshal(data, &c); err != nil {
		return c, false, fmt.Errorf("malformed containerd config (%v): left unchanged; fix it and run again", err)
	}
	var any map[string]any
	toml.Unmarshal(data, &any)
	return c, len(any) > 0, nil
}

func planContainerd(o Options) (Plan, error) {
	mainPath := o.configFile()
	if mainPath == "" {
		mainPath = inRoot(o.Root, DefaultContainerd)
	}
	dropIn := DropInPath(mainPath)
	// What config.toml's imports name: the drop-in as the host sees it.
	hostMain, hostDrop := onHost(o.Root, mainPath), onHost(o.Root, dropIn)
	old, mode, err := readExisting(o.Root, mainPath)
	if err != nil {
		return Plan{}, err
	}
	oldDrop, dropMode, err := readExisting(o.Root, dropIn)
	if err != nil {
		return Plan{}, err
	}
	rec, oldRec, err := loadRecord(o.Root, mainPath)
	if err != nil {
		return Plan{}, err
	}
	var c mainConfig
	hasKeys := false
	if old != nil {
		if c, hasKeys, err = parseMain(old); err != nil {
			return Plan{}, fmt.Errorf("%s: %w", mainPath, err)
		}
	}
	ver, verFrom := o.containerdVersion()
	var p Plan
	p.Apply = containerdApply(o, mainPath)
	if o.Uninstall {
		created := contains(rec.CreatedFiles, mainPath) && rec.ours(mainPath, old)
		base, notes, err := ContainerdCRIUninstall(old, rec)
		if err != nil {
			return Plan{}, fmt.Errorf("%s: %w", mainPath, err)
		}
		nw, err := dropImport(base, hostDrop, rec)
		if err != nil {
			return Plan{}, fmt.Errorf("%s: %w", mainPath, err)
		}
		if created {
			nw = nil // install made it, and it is as install wrote it
		}
		p.Files = append(change(mainPath, old, nw, mode), change(dropIn, oldDrop, nil, dropMode)...)
		p.Notes = notes
		rec.finish(&p, mainPath, oldRec, true)
		return p, nil
	}
	version := c.Version
	switch {
	case version == 0 && hasKeys:
		return Plan{}, fmt.Errorf("%s is a version 1 containerd config (no \"version\" key): armhf-shim writes version 2/3 drop-ins; "+
			"migrate it with `containerd config migrate` (containerd >= 2) or add version = 2, then run again (left unchanged)", mainPath)
	case version == 0:
		// No config: version 2 is read by every containerd >= 1.6 (2.x
		// migrates it), 3 only by 2.x.
		version = 2
		if major, _, ok := majorMinor(ver); ok && major >= 2 {
			version = 3
		}
	case version == 1:
		return Plan{}, fmt.Errorf("%s has version = 1: armhf-shim writes version 2/3 drop-ins; migrate the config first (left unchanged)", mainPath)
	case version > 3:
		return Plan{}, fmt.Errorf("%s has version = %d, newer than armhf-shim knows (2, 3): left unchanged", mainPath, version)
	}
	major, _, known := majorMinor(ver)
	if version == 3 && known && major < 2 {
		return Plan{}, fmt.Errorf("%s has version = 3, which containerd %s (%s) cannot read: "+
			"if another containerd reads it, name it with --containerd PATH or --containerd-version X.Y.Z (left unchanged)", mainPath, ver, verFrom)
	}
	withRunc := !declaresRunc(c, version)
	if !known || major < 2 {
		if err := refuseCRIImports(o, c.Imports, hostMain, hostDrop, version, ver, verFrom); err != nil {
			return Plan{}, err
		}
	}
	// containerd 1.x (services/server/config mergeConfig, 1.6 and 1.7)
	// replaces a whole plugin section with an imported file's, where 2.x
	// merges them key by key: on 1.x a drop-in would wipe config.toml's
	// CRI settings, so the handler goes into that section itself.
	if _, has := c.Plugins[criPlugin(version)]; has && (!known || major < 2) {
		return planContainerdInPlace(o, p, planCtx{mainPath, dropIn, hostDrop, old, mode, oldDrop, dropMode, rec, oldRec, version, ver, verFrom, withRunc})
	}
	rt, link := o.runtimeLink()
	if link != nil {
		p.Links = append(p.Links, *link)
	}
	drop := ContainerdDropIn(version, o.RuntimeName, rt, o.SetAsDefault, withRunc)
	if oldDrop != nil {
		if _, _, err := parseMain(oldDrop); err != nil {
			return Plan{}, fmt.Errorf("%s: %w", dropIn, err)
		}
	}
	var nw []byte
	if old == nil {
		nw = []byte(fmt.Sprintf("# Written by armhf-shim install containerd; containerd's defaults apply to everything else.\nversion = %d\nimports = [%q]\n", version, hostDrop))
	} else if nw, err = AddImport(old, c.Imports, hostMain, hostDrop); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", mainPath, err)
	}
	if e := importsEdited(old, nw); e != nil {
		rec.Imports = e
	}
	rec.willCreate(filepath.Dir(dropIn))
	// The drop-in first: containerd refuses to start on an import that is
	// missing, which an install killed between the two writes would leave.
	p.Files = append(change(dropIn, oldDrop, drop, 0o644), change(mainPath, old, nw, mode)...)
	rec.finish(&p, mainPath, oldRec, false)
	p.Notes = append(p.Notes, fmt.Sprintf("use it with ctr run --runtime io.containerd.runc.v2 --runc-binary %s ..., "+
		"or a Kubernetes RuntimeClass with handler: %s", rt, o.RuntimeName))
	return p, nil
}

// tablesOnly drops the comment and version lines of a drop-in.
func tablesOnly(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "version") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// imported reports whether one of imports (relative to mainPath's
// directory, with globs) names dropIn.
func imported(imports []string, mainPath, dropIn string) bool {
	for _, im := range imports {
		if !filepath.IsAbs(im) {
			im = filepath.Join(filepath.Dir(mainPath), im)
		}
		if ok, _ := filepath.Match(filepath.Clean(im), dropIn); ok {
			return true
		}
	}
	return false
}

// importsSpan finds the top-level imports key-value in a TOML document:
// the byte range of the whole expression, or ok=false.
func importsSpan(data []byte) (start, end int, ok bool, err error) {
	p := unstable.Parser{}
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind == unstable.Table || e.Kind == unstable.ArrayTable {
			break // top-level keys end at the first table
		}
		if e.Kind != unstable.KeyValue {
			continue
		}
		it := e.Key()
		if !it.Next() {
			continue
		}
		k := it.Node()
		if string(k.Data) != "imports" || !it.IsLast() {
			continue
		}
		start = int(k.Raw.Offset)
		// Back up over quotes of a quoted key.
		for start > 0 && (data[start-1] == '"' || data[start-1] == '\'') {
			start--
		}
		end, err = valueEnd(data, start)
		return start, end, err == nil, err
	}
	return 0, 0, false, p.Error()
}

// valueEnd returns the end of the array value of the key-value that
// starts at start: after the matching "]", strings and comments skipped.
func valueEnd(data []byte, start int) (int, error) {
	i := bytes.IndexByte(data[start:], '=')
	if i < 0 {
		return 0, fmt.Errorf("imports: no value")
	}
	i += start + 1
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case '"', '\'':
			j := i + 1
			for j < len(data) && data[j] != c {
				if c == '"' && data[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("imports: unterminated array")
}

func renderImports(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "imports = [" + strings.Join(q, ", ") + "]"
}

// AddImport returns the main config with dropIn in its imports (unchanged
// if an import already covers it). Only the imports expression changes;
// comments and layout elsewhere are kept.
func AddImport(data []byte, imports []string, mainPath, dropIn string) ([]byte, error) {
	if imported(imports, mainPath, dropIn) {
		return data, nil
	}
	start, end, ok, err := importsSpan(data)
	if err != nil {
		return nil, fmt.Errorf("malformed containerd config (%v): left unchanged", err)
	}
	line := renderImports(append(append([]string(nil), imports...), dropIn))
	if !ok {
		// A top-level key may go anywhere before the first table: the top,
		// ended as the file's lines are.
		nl := "\n"
		if bytes.Contains(data, []byte("\r\n")) {
			nl = "\r\n"
		}
		return append([]byte(line+"  # added by armhf-shim install containerd"+nl), data...), nil
	}
	return append(append(append([]byte(nil), data[:start]...), line...), data[end:]...), nil
}

// RemoveImport drops dropIn from the imports of the main config.
func RemoveImport(data []byte, dropIn string) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	c, _, err := parseMain(data)
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, im := range c.Imports {
		if filepath.Clean(im) != dropIn {
			keep = append(keep, im)
		}
	}
	if len(keep) == len(c.Imports) {
		return data, nil
	}
	start, end, ok, err := importsSpan(data)
	if err != nil || !ok {
		return nil, fmt.Errorf("malformed containerd config: imports not found: left unchanged")
	}
	if len(keep) == 0 {
		// Remove the whole line, with our trailing comment.
		if nl := bytes.IndexByte(data[end:], '\n'); nl >= 0 {
			tail := strings.TrimSpace(string(data[end : end+nl]))
			if tail == "" || strings.HasPrefix(tail, "# added by armhf-shim") {
				end += nl + 1
			}
		}
		return append(append([]byte(nil), data[:start]...), data[end:]...), nil
	}
	return append(append(append([]byte(nil), data[:start]...), renderImports(keep)...), data[end:]...), nil
}

func tomlUnmarshal(b []byte, v any) error { return toml.Unmarshal(b, v) }

// handlerNames lists the runtime handlers a drop-in declares.
func handlerNames(c mainConfig) string {
	var names []string
	for _, plugin := range []string{criPlugin(2), criPlugin(3)} {
		pl, _ := c.Plugins[plugin].(map[string]any)
		ctd, _ := pl["containerd"].(map[string]any)
		rts, _ := ctd["runtimes"].(map[string]any)
		for _, n := range sortedKeys(rts) {
			names = append(names, strconv.Quote(n))
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// importsEdit is an imports expression install rewrote: as it was and as
// install wrote it, so uninstall can give back the bytes (quotes, layout)
// rather than a re-rendered list.
type importsEdit struct {
	Was string `json:"was"`
	Now string `json:"now"`
}

// importsEdited is the edit of an existing imports expression from old to
// nw (nil when there was none or it is unchanged).
func importsEdited(old, nw []byte) *importsEdit {
	s0, e0, ok0, _ := importsSpan(old)
	s1, e1, ok1, _ := importsSpan(nw)
	if !ok0 || !ok1 || bytes.Equal(old, nw) {
		return nil
	}
	return &importsEdit{Was: string(old[s0:e0]), Now: string(nw[s1:e1])}
}

// undo gives back data with the imports expression as it was, if it is
// still as install wrote it.
func (e *importsEdit) undo(data []byte) ([]byte, bool) {
	if e == nil {
		return nil, false
	}
	s, end, ok, _ := importsSpan(data)
	if !ok || string(data[s:end]) != e.Now {
		return nil, false
	}
	return append(append(append([]byte(nil), data[:s]...), e.Was...), data[end:]...), true
}

// containerdVersion is the version of the containerd that reads the
// config ("" when unknown) and where it was learnt, for messages: the
// --containerd-version given, else `--version` of the --containerd
// binary, else of the containerd first on PATH.
func (o *Options) containerdVersion() (ver, from string) {
	if o.ContainerdVersion != "" {
		return strings.TrimPrefix(o.ContainerdVersion, "v"), "as --containerd-version says"
	}
	bin := o.Containerd
	if bin == "" {
		p, err := lookContainerd(o.Root)
		if err != nil {
			return "", err.Error()
		}
		bin = p
	}
	if v := containerdVersion(o.Root, bin); v != "" {
		return v, "as " + bin + " --version says"
	}
	return "", bin + " --version gave no version"
}

// planCtx is what planContainerd read, for planContainerdInPlace.
type planCtx struct {
	mainPath, dropIn, hostDrop string
	old                        []byte
	mode                       os.FileMode
	oldDrop                    []byte
	dropMode                   os.FileMode
	rec                        *record
	oldRec                     []byte
	version                    int
	ver, verFrom               string
	withRunc                   bool
}

// planContainerdInPlace registers the handler in config.toml's own CRI
// section (containerdcri.go), taking out a drop-in of an earlier install,
// which containerd 1.x would let replace that section.
func planContainerdInPlace(o Options, p Plan, x planCtx) (Plan, error) {
	rt, link := o.runtimeLink()
	nw, notes, err := ContainerdCRIInstall(x.old, x.rec, criEdit{Version: x.version, Name: o.RuntimeName, Binary: rt, SetDefault: o.SetAsDefault, Ours: o.runsThisShim})
	if errors.Is(err, errNoSplice) {
		lines := tablesOnly(ContainerdDropIn(x.version, o.RuntimeName, rt, o.SetAsDefault, x.withRunc))
		return Plan{}, fmt.Errorf("%s: its [plugins.%q] section %v, and %s would replace that whole section with a drop-in's: "+
			"add these lines to %s by hand instead (left unchanged):\n%s",
			x.mainPath, criPlugin(x.version), err, x.reader(), x.mainPath, lines)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", x.mainPath, err)
	}
	if nw, err = dropImport(nw, x.hostDrop, x.rec); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", x.mainPath, err)
	}
	if link != nil {
		p.Links = append(p.Links, *link)
	}
	p.Files = append(change(x.mainPath, x.old, nw, x.mode), change(x.dropIn, x.oldDrop, nil, x.dropMode)...)
	x.rec.finish(&p, x.mainPath, x.oldRec, false)
	p.Notes = append(notes, fmt.Sprintf("the handler is written into the CRI section of %s, not a drop-in: %s would replace that whole section with an imported file's", x.mainPath, x.reader()),
		fmt.Sprintf("use it with ctr run --runtime io.containerd.runc.v2 --runc-binary %s ..., or a Kubernetes RuntimeClass with handler: %s", rt, o.RuntimeName))
	return p, nil
}

// dropImport takes the drop-in out of config.toml's imports: the
// expression as install found it when it is still as install wrote it.
func dropImport(data []byte, hostDrop string, rec *record) ([]byte, error) {
	if back, ok := rec.Imports.undo(data); ok {
		rec.Imports = nil
		return back, nil
	}
	rec.Imports = nil
	return RemoveImport(data, hostDrop)
}

// reader names the containerd that reads config.toml, for messages.
func (x planCtx) reader() string { return containerdReader(x.ver, x.verFrom) }

func containerdReader(ver, from string) string {
	if ver == "" {
		return "containerd 1.x, if that is what reads it (" + from + "),"
	}
	return fmt.Sprintf("containerd %s (%s)", ver, from)
}

// refuseCRIImports refuses an install where config.toml imports a file
// (other than the drop-in) with a CRI section of its own: containerd 1.x
// lets that section replace config.toml's and the drop-in's whole, or the
// drop-in's replace it, so either armhf-shim's handler or the file's
// settings would be lost. The error says what to add to that file by hand.
func refuseCRIImports(o Options, imports []string, hostMain, hostDrop string, version int, ver, verFrom string) error {
	plugin := criPlugin(version)
	loaded := map[string]bool{hostMain: true, hostDrop: true}
	pending := resolveImports(o.Root, hostMain, imports)
	for len(pending) > 0 {
		p := pending[0]
		pending = pending[1:]
		if loaded[p] {
			continue
		}
		loaded[p] = true
		b, _, err := readExisting(o.Root, inRoot(o.Root, p))
		if err != nil || b == nil {
			continue // containerd says so at start; it is not install's to judge
		}
		c, _, err := parseMain(b)
		if err != nil {
			return fmt.Errorf("%s, imported by %s: %w", p, hostMain, err)
		}
		if _, has := c.Plugins[plugin]; has {
			rt, _ := o.runtimeLink()
			lines := tablesOnly(ContainerdDropIn(version, o.RuntimeName, rt, o.SetAsDefault, !declaresRunc(c, version)))
			return fmt.Errorf("%s imports %s, which has a [plugins.%q] section: %s lets one file's section replace another's whole, "+
				"so armhf-shim's handler and that file's settings cannot both be kept; add these lines to %s by hand instead (left unchanged):\n%s",
				hostMain, p, plugin, containerdReader(ver, verFrom), p, lines)
		}
		pending = append(pending, resolveImports(o.Root, p, c.Imports)...)
	}
	return nil
}

// resolveImports is the files imports names, as containerd resolves them
// (services/server/config resolveImports): relative to parent's directory,
// with "*" globs, matched below root; host paths.
func resolveImports(root, parent string, imports []string) []string {
	var out []string
	for _, im := range imports {
		im = filepath.Clean(im)
		if !filepath.IsAbs(im) {
			im = filepath.Join(filepath.Dir(parent), im)
		}
		if !strings.Contains(im, "*") {
			out = append(out, im)
			continue
		}
		m, _ := filepath.Glob(inRoot(root, im))
		for _, f := range m {
			out = append(out, onHost(root, f))
		}
	}
	return out
}
