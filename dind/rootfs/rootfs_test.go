package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ent is a tar entry for test inputs.
type ent struct {
	name string
	typ  byte   // tar.TypeReg when 0
	body string // file content
	link string // symlink/hardlink target
	mode int64
}

func mkTar(t *testing.T, ents []ent, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Uid: 0, Gid: 0}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write([]byte(e.body))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

// fakeELF is a minimal ELF64 header for machine m: enough for debug/elf.
func fakeELF(m elf.Machine) string {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64)
	return string(h)
}

// fakeDynELF is fakeELF with a PT_INTERP program header naming interp, the
// loader of a dynamically linked binary.
func fakeDynELF(m elf.Machine, interp string) string {
	h := []byte(fakeELF(m))
	binary.LittleEndian.PutUint64(h[32:], 64) // e_phoff
	binary.LittleEndian.PutUint16(h[54:], 56) // e_phentsize
	binary.LittleEndian.PutUint16(h[56:], 1)  // e_phnum
	ph := make([]byte, 56)
	binary.LittleEndian.PutUint32(ph[0:], uint32(elf.PT_INTERP))
	binary.LittleEndian.PutUint64(ph[8:], 64+56)                  // p_offset
	binary.LittleEndian.PutUint64(ph[32:], uint64(len(interp)+1)) // p_filesz
	binary.LittleEndian.PutUint64(ph[40:], uint64(len(interp)+1)) // p_memsz
	return string(h) + string(ph) + interp + "\x00"
}

func hostMachine() elf.Machine {
	if runtime.GOARCH == "arm64" {
		return elf.EM_AARCH64
	}
	return elf.EM_X86_64
}

func writeFile(t *testing.T, p string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// listTree describes a tree: "path" for files (with content), "path/" for
// directories, "path -> target" for symlinks.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, rel+" -> "+l)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

var layer1 = []ent{
	{name: "bin/", typ: tar.TypeDir},
	{name: "bin/sh", body: "sh"},
	{name: "bin/ash", typ: tar.TypeLink, link: "bin/sh"},
	{name: "etc/", typ: tar.TypeDir},
	{name: "etc/os-release", body: "alpine"},
	{name: "etc/old/", typ: tar.TypeDir},
	{name: "etc/old/a", body: "a"},
	{name: "etc/old/b", body: "b"},
	{name: "var/run", typ: tar.TypeSymlink, link: "/run"},
	{name: "dev/null", typ: tar.TypeChar},
	{name: "tmp/gone", body: "x"},
}

var layer2 = []ent{
	{name: "tmp/.wh.gone"},
	{name: "etc/old/.wh..wh..opq"},
	{name: "etc/old/c", body: "c"},
	{name: "usr/local/bin/dockerd", body: fakeELF(hostMachine()), mode: 0o755},
	{name: "usr/local/bin/containerd", body: "c", mode: 0o755},
	{name: "usr/local/bin/runc", body: "r", mode: 0o755},
	{name: "bin/sh", body: "sh2"}, // replaces; the hard link keeps the old inode
}

var wantImage = []string{
	"bin/", "bin/ash=sh", "bin/sh=sh2", "dev/", "etc/", "etc/old/", "etc/old/c=c", "etc/os-release=alpine",
	"tmp/", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/containerd=c", "usr/local/bin/dockerd=" + fakeELF(hostMachine()),
	"usr/local/bin/runc=r", "var/", "var/run -> /run",
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ociLayout writes an OCI image layout of the layers under dir; with
// index, the top index.json points at an image index listing the image for
// linux/arm/v7 and a decoy for linux/arm64.
func ociLayout(t *testing.T, dir string, layers [][]byte, multi bool) {
	t.Helper()
	blob := func(b []byte) map[string]any {
		writeFile(t, filepath.Join(dir, "blobs/sha256", sha(b)), b)
		return map[string]any{"digest": "sha256:" + sha(b), "size": len(b)}
	}
	var ls []any
	for _, l := range layers {
		d := blob(l)
		d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
		ls = append(ls, d)
	}
	cfg := blob([]byte(`{"architecture":"arm","variant":"v7","os":"linux"}`))
	cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest, "config": cfg, "layers": ls})
	md := blob(man)
	md["mediaType"] = mtOCIManifest
	top := []any{md}
	if multi {
		decoy, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest, "config": cfg, "layers": []any{}})
		dd := blob(decoy)
		dd["mediaType"] = mtOCIManifest
		dd["platform"] = map[string]any{"os": "linux", "architecture": "arm64"}
		md["platform"] = map[string]any{"os": "linux", "architecture": "arm", "variant": "v7"}
		list, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": []any{dd, md}})
		ld := blob(list)
		ld["mediaType"] = mtOCIIndex
		top = []any{ld}
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": top})
	writeFile(t, filepath.Join(dir, "index.json"), idx)
	writeFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
}

// dirTar tars a directory (what `docker save` or `tar -C dir -c .` gives).
func dirTar(t *testing.T, dir string) []byte {
	t.Helper()
	var ents []ent
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			ents = append(ents, ent{name: rel + "/", typ: tar.TypeDir})
		} else {
			b, _ := os.ReadFile(p)
			ents = append(ents, ent{name: rel, body: string(b)})
		}
		return nil
	})
	return mkTar(t, ents, false)
}

func TestUnpackKinds(t *testing.T) {
	work := t.TempDir()
	l1, l2 := mkTar(t, layer1, true), mkTar(t, layer2, false)

	oci := filepath.Join(work, "oci")
	ociLayout(t, oci, [][]byte{l1, l2}, false)
	ociMulti := filepath.Join(work, "oci-multi")
	ociLayout(t, ociMulti, [][]byte{l1, l2}, true)

	save := filepath.Join(work, "save")
	writeFile(t, filepath.Join(save, "aaa/layer.tar"), l1)
	writeFile(t, filepath.Join(save, "bbb/layer.tar"), l2)
	writeFile(t, filepath.Join(save, "cfg.json"), []byte(`{}`))
	writeFile(t, filepath.Join(save, "manifest.json"), []byte(`[{"Config":"cfg.json","RepoTags":["docker:dind"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}]`))
	// Docker 25+ save: blobs/sha256 layers, verified by digest.
	save25 := filepath.Join(work, "save25")
	ociLayout(t, save25, [][]byte{l1, l2}, false)
	writeFile(t, filepath.Join(save25, "manifest.json"), []byte(`[{"Config":"blobs/sha256/x","RepoTags":["docker:28-dind"],"Layers":["blobs/sha256/`+sha(l1)+`","blobs/sha256/`+sha(l2)+`"]}]`))

	static := writeFile(t, filepath.Join(work, "docker-28.2.2.tgz"), mkTar(t, []ent{
		{name: "docker/", typ: tar.TypeDir},
		{name: "docker/dockerd", body: fakeELF(hostMachine()), mode: 0o755},
		{name: "docker/containerd", body: "c", mode: 0o755},
		{name: "docker/containerd-shim-runc-v2", body: "s", mode: 0o755},
		{name: "docker/runc", body: "r", mode: 0o755},
		{name: "docker/docker-init", body: "i", mode: 0o755},
		{name: "docker/docker-proxy", body: "p", mode: 0o755},
		{name: "docker/docker", body: "cli", mode: 0o755},
	}, true))

	tests := []struct {
		name   string
		src    string
		kind   Kind
		layers int
		want   []string
		bin    string
	}{
		{"oci dir", oci, KindImageDir, 2, wantImage, "usr/local/bin"},
		{"oci tar", writeFile(t, filepath.Join(work, "oci.tar"), dirTar(t, oci)), KindOCILayout, 2, wantImage, "usr/local/bin"},
		{"oci index picks linux/arm/v7", ociMulti, KindImageDir, 2, wantImage, "usr/local/bin"},
		{"docker save tar", writeFile(t, filepath.Join(work, "save.tar"), dirTar(t, save)), KindDockerSave, 2, wantImage, "usr/local/bin"},
		{"docker save dir", save, KindImageDir, 2, wantImage, "usr/local/bin"},
		{"docker 25 save tar", writeFile(t, filepath.Join(work, "save25.tar.gz"), gz(t, dirTar(t, save25))), KindDockerSave, 2, wantImage, "usr/local/bin"},
		{"static tgz", static, KindTarball, 1, nil, "docker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "rootfs")
			res, err := Unpack(tc.src, dst, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Kind != tc.kind || res.Layers != tc.layers {
				t.Errorf("result %+v, want kind %s layers %d", res, tc.kind, tc.layers)
			}
			if tc.want != nil {
				if got := listTree(t, dst); !slices.Equal(got, tc.want) {
					t.Errorf("tree:\n got %q\nwant %q", got, tc.want)
				}
				if res.Skipped != 1 {
					t.Errorf("skipped %d device nodes, want 1", res.Skipped)
				}
			}
			d, err := FindDockerd(dst)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dst, tc.bin, "dockerd"); d.Dockerd != want {
				t.Errorf("dockerd %s, want %s", d.Dockerd, want)
			}
			if !slices.Equal(d.Path, []string{filepath.Join(dst, tc.bin)}) {
				t.Errorf("path %q", d.Path)
			}
			if tc.bin == "docker" && len(d.Missing) != 0 {
				t.Errorf("missing %q", d.Missing)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".rootfs.unpack-*"))
			if len(leftovers) != 0 {
				t.Errorf("left %q", leftovers)
			}
		})
	}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestUnpackDirectoryCopy(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "bin/dockerd"), []byte(fakeELF(hostMachine())))
	os.Chmod(filepath.Join(src, "bin/dockerd"), 0o755)
	os.Symlink("dockerd", filepath.Join(src, "bin/dockerd-link"))
	os.Symlink("/etc/shadow", filepath.Join(src, "bin/abs"))
	os.MkdirAll(filepath.Join(src, "empty"), 0o700)
	dst := filepath.Join(t.TempDir(), "rootfs")
	res, err := Unpack(src, dst, Options{})
	if err != nil || res.Kind != KindDirectory {
		t.Fatalf("%+v %v", res, err)
	}
	want := []string{"bin/", "bin/abs -> /etc/shadow", "bin/dockerd-link -> dockerd", "bin/dockerd=" + fakeELF(hostMachine()), "empty/"}
	if got := listTree(t, dst); !slices.Equal(got, want) {
		t.Errorf("tree %q, want %q", got, want)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "bin/dockerd")); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// TestHostile: inputs that try to write outside the target fail cleanly or
// are kept inside it, and the host is never touched.
func TestHostile(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	writeFile(t, victim, []byte("original"))

	tests := []struct {
		name string
		ents []ent
		err  string
		// for inputs that are accepted: where the write landed, inside
		inside string
	}{
		{"dotdot", []ent{{name: "../../../../../../" + strings.TrimPrefix(victim, "/"), body: "pwned"}}, "points outside the root", ""},
		{"dotdot middle", []ent{{name: "a/../../x", body: "pwned"}}, "points outside the root", ""},
		{"absolute symlink then write through it", []ent{
			{name: "out", typ: tar.TypeSymlink, link: outside},
			{name: "out/victim", body: "pwned"},
		}, "", "." + outside + "/victim"},
		{"relative symlink climbing out", []ent{
			{name: "a/", typ: tar.TypeDir},
			{name: "a/up", typ: tar.TypeSymlink, link: "../../../../../../../../" + strings.TrimPrefix(outside, "/")},
			{name: "a/up/victim", body: "pwned"},
		}, "", "." + outside + "/victim"},
		{"hard link out", []ent{{name: "h", typ: tar.TypeLink, link: "../../../../" + victim}}, "points outside the root", ""},
		{"hard link through symlink", []ent{
			{name: "s", typ: tar.TypeSymlink, link: victim},
			{name: "h", typ: tar.TypeLink, link: "s"},
		}, "target is missing", ""},
		{"bad whiteout", []ent{{name: "a/.wh.."}}, "bad whiteout", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, image := range []bool{false, true} {
				src := writeFile(t, filepath.Join(t.TempDir(), "in.tar"), mkTar(t, tc.ents, false))
				if image {
					d := t.TempDir()
					ociLayout(t, d, [][]byte{mkTar(t, tc.ents, true)}, false)
					src = d
				}
				dst := filepath.Join(t.TempDir(), "rootfs")
				_, err := Unpack(src, dst, Options{})
				if b, _ := os.ReadFile(victim); string(b) != "original" {
					t.Fatalf("host file changed: %q", b)
				}
				if entries, _ := os.ReadDir(outside); len(entries) != 1 {
					t.Fatalf("something was created outside: %v", entries)
				}
				if tc.name == "bad whiteout" && !image {
					// Whiteouts only mean something in image layers.
					continue
				}
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("image=%v: err = %v, want %q", image, err, tc.err)
					}
					if _, serr := os.Lstat(dst); !errors.Is(serr, fs.ErrNotExist) {
						t.Fatalf("target exists after a failure")
					}
					if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".rootfs.unpack-*")); len(left) > 0 {
						t.Fatalf("left %q", left)
					}
					continue
				}
				if err != nil {
					t.Fatalf("image=%v: %v", image, err)
				}
				if b, err := os.ReadFile(filepath.Join(dst, tc.inside)); err != nil || string(b) != "pwned" {
					t.Fatalf("write did not land inside the tree at %s: %v", tc.inside, err)
				}
			}
		})
	}
}

func TestCorruptInputs(t *testing.T) {
	work := t.TempDir()
	good := mkTar(t, layer1, true)
	oci := filepath.Join(work, "oci")
	ociLayout(t, oci, [][]byte{good}, false)
	// Flip a byte in the layer blob, keeping it a valid gzip stream.
	bad := filepath.Join(work, "oci-bad")
	ociLayout(t, bad, [][]byte{good}, false)
	blob := filepath.Join(bad, "blobs/sha256", sha(good))
	writeFile(t, blob, gz(t, mkTar(t, append(slices.Clone(layer1), ent{name: "extra", body: "evil"}), false)))

	noIndex := filepath.Join(work, "noindex")
	writeFile(t, filepath.Join(noIndex, "oci-layout"), []byte(`{}`))

	tests := []struct {
		name, src, err string
		opts           Options
	}{
		{"missing input", filepath.Join(work, "nope.tar"), "no such file", Options{}},
		{"not a tar", writeFile(t, filepath.Join(work, "junk"), []byte(strings.Repeat("junk", 300))), "reading tar", Options{}},
		{"truncated gzip", writeFile(t, filepath.Join(work, "trunc.tgz"), good[:len(good)/2]), "", Options{}},
		{"zstd", writeFile(t, filepath.Join(work, "x.tar.zst"), []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}), "zstd -d", Options{}},
		{"xz", writeFile(t, filepath.Join(work, "x.tar.xz"), []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0}), "xz -d", Options{}},
		{"digest mismatch", bad, "is corrupt", Options{}},
		{"no index.json", noIndex, "index.json", Options{}},
		{"platform not in index", func() string { d := filepath.Join(work, "multi"); ociLayout(t, d, [][]byte{good}, true); return d }(), "no manifest for linux/ppc64le", Options{Platform: "linux/ppc64le"}},
		{"two images in save", func() string {
			d := filepath.Join(work, "two")
			writeFile(t, filepath.Join(d, "l.tar"), good)
			writeFile(t, filepath.Join(d, "manifest.json"), []byte(`[{"RepoTags":["a"],"Layers":["l.tar"]},{"RepoTags":["b"],"Layers":["l.tar"]}]`))
			return d
		}(), "holds 2 images", Options{}},
		{"layer path escapes", func() string {
			d := filepath.Join(work, "esc")
			writeFile(t, filepath.Join(d, "manifest.json"), []byte(`[{"RepoTags":["a"],"Layers":["../../../etc/passwd"]}]`))
			return d
		}(), "points outside", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "rootfs")
			_, err := Unpack(tc.src, dst, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if _, serr := os.Lstat(dst); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("target exists after a failure")
			}
		})
	}
}

func TestUnpackExistingTarget(t *testing.T) {
	dst := t.TempDir()
	src := writeFile(t, filepath.Join(t.TempDir(), "a.tar"), mkTar(t, layer1, false))
	if _, err := Unpack(src, dst, Options{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
}

func TestFindDockerd(t *testing.T) {
	mk := func(ents []ent) string {
		dst := filepath.Join(t.TempDir(), "r")
		if _, err := Unpack(writeFile(t, filepath.Join(t.TempDir(), "in.tar"), mkTar(t, ents, false)), dst, Options{}); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	t.Run("none", func(t *testing.T) {
		_, err := FindDockerd(mk([]ent{{name: "bin/sh", body: "x", mode: 0o755}}))
		if err == nil || !strings.Contains(err.Error(), "no dockerd found") {
			t.Fatal(err)
		}
	})
	t.Run("foreign architecture", func(t *testing.T) {
		other := elf.EM_PPC64
		_, err := FindDockerd(mk([]ent{{name: "usr/bin/dockerd", body: fakeELF(other), mode: 0o755}}))
		if err == nil || !strings.Contains(err.Error(), "EM_PPC64") {
			t.Fatal(err)
		}
	})
	t.Run("not ELF", func(t *testing.T) {
		_, err := FindDockerd(mk([]ent{{name: "dockerd", body: "#!/bin/sh\n", mode: 0o755}}))
		if err == nil || !strings.Contains(err.Error(), "not an ELF") {
			t.Fatal(err)
		}
	})
	t.Run("symlink resolved inside the tree", func(t *testing.T) {
		r := mk([]ent{
			{name: "usr/libexec/docker/dockerd", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/bin/dockerd", typ: tar.TypeSymlink, link: "/usr/libexec/docker/dockerd"},
			{name: "usr/bin/runc", body: "r", mode: 0o755},
		})
		d, err := FindDockerd(r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dockerd != filepath.Join(r, "usr/libexec/docker/dockerd") || !slices.Equal(d.Path, []string{filepath.Join(r, "usr/bin"), filepath.Join(r, "usr/libexec/docker")}) {
			t.Errorf("%+v", d)
		}
		if !slices.Equal(d.Missing, []string{"containerd", "containerd-shim-runc-v2", "docker-init", "docker-proxy"}) {
			t.Errorf("missing %q", d.Missing)
		}
	})
	// dockerd's PATH lookup is the kernel's: an absolute link of a
	// companion reaches the host's file, whatever the tree holds there.
	t.Run("companion through an absolute symlink", func(t *testing.T) {
		r := mk([]ent{
			{name: "usr/bin/dockerd", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "opt/containerd", body: "c", mode: 0o755},
			{name: "usr/bin/containerd", typ: tar.TypeSymlink, link: "/opt/containerd"},
			{name: "usr/bin/runc", typ: tar.TypeSymlink, link: "../../opt/containerd"},
		})
		d, err := FindDockerd(r)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Outside, []string{"containerd"}) {
			t.Errorf("outside %q", d.Outside)
		}
		if slices.Contains(d.Missing, "runc") || slices.Contains(d.Missing, "containerd") {
			t.Errorf("missing %q", d.Missing)
		}
	})
	// Distribution packages split the daemon: Debian's docker.io has
	// /usr/sbin/dockerd, /usr/bin/containerd, /usr/sbin/runc.
	t.Run("companions in other binary directories", func(t *testing.T) {
		r := mk([]ent{
			{name: "usr/sbin/dockerd", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/sbin/runc", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/sbin/docker-proxy", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/bin/containerd", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/bin/containerd-shim-runc-v2", body: fakeELF(hostMachine()), mode: 0o755},
			{name: "usr/bin/docker-init", body: fakeELF(hostMachine()), mode: 0o755},
		})
		d, err := FindDockerd(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Missing) > 0 || len(d.Outside) > 0 {
			t.Errorf("missing %q, outside %q", d.Missing, d.Outside)
		}
		if !slices.Equal(d.Path, []string{filepath.Join(r, "usr/sbin"), filepath.Join(r, "usr/bin")}) {
			t.Errorf("path %q", d.Path)
		}
	})
	// The kernel opens a dynamic binary's loader in the host's root:
	// without it execve says only "no such file or directory".
	t.Run("loader", func(t *testing.T) {
		host := t.TempDir()
		present := writeFile(t, filepath.Join(host, "ld-present.so"), []byte("x"))
		absent := filepath.Join(host, "ld-linux-armhf.so.3")
		for _, tc := range []struct {
			name string
			ents []ent
			want string // "" = no error
		}{
			{"static", []ent{{name: "usr/local/bin/dockerd", body: fakeELF(hostMachine()), mode: 0o755}}, ""},
			{"loader on the host", []ent{{name: "usr/local/bin/dockerd", body: fakeDynELF(hostMachine(), present), mode: 0o755}}, ""},
			{"dockerd's loader missing", []ent{{name: "usr/local/bin/dockerd", body: fakeDynELF(hostMachine(), absent), mode: 0o755}},
				"dockerd needs the loader " + absent + ", which is not on this host: /usr/local/bin/dockerd is dynamically linked"},
			{"only in the input", []ent{
				{name: "usr/local/bin/dockerd", body: fakeDynELF(hostMachine(), absent), mode: 0o755},
				{name: strings.TrimPrefix(absent, "/"), body: "ld", mode: 0o755},
			}, "which is not on this host (the input's own copy does not count)"},
			{"containerd's loader missing", []ent{
				{name: "usr/sbin/dockerd", body: fakeDynELF(hostMachine(), present), mode: 0o755},
				{name: "usr/bin/containerd", body: fakeDynELF(hostMachine(), absent), mode: 0o755},
			}, "containerd needs the loader " + absent},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := FindDockerd(mk(tc.ents))
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
			})
		}
	})
}
