package rootfs

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/platform"
)

// topNames lists the top-level names of a tar stream.
func topNames(r io.Reader, what string) (map[string]bool, error) {
	names := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading tar: %v (truncated or not a tar archive?)", what, err)
		}
		rel, err := relName(hdr.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		top, _, _ := strings.Cut(rel, "/")
		names[top] = true
	}
}

// applyImage applies the layers of the image stored in dir (a docker save
// tree or an OCI image layout) to x.
func applyImage(x *extractor, dir string, opts Options) (*Result, error) {
	x.whiteouts = true
	if m, err := readSaveManifest(dir); err == nil {
		return applySave(x, dir, m)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		return applyOCI(x, dir, opts)
	}
	return nil, fmt.Errorf("%s: neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)", dir)
}

// inDir resolves a path named by an image index inside dir, refusing
// anything that leaves it.
func inDir(dir, name string) (string, error) {
	rel, err := relName(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

func applySave(x *extractor, dir string, m []saveEntry) (*Result, error) {
	if len(m) != 1 {
		var tags []string
		for _, e := range m {
			tags = append(tags, strings.Join(e.RepoTags, ","))
		}
		return nil, fmt.Errorf("the docker save archive holds %d images (%s); save only the docker:dind image", len(m), strings.Join(tags, "; "))
	}
	e := m[0]
	res := &Result{Kind: KindDockerSave}
	if len(e.RepoTags) > 0 {
		res.Image = e.RepoTags[0]
	}
	for i, l := range e.Layers {
		p, err := inDir(dir, l)
		if err != nil {
			return nil, fmt.Errorf("manifest.json layer %d: %v", i, err)
		}
		// Newer docker save writes layers as blobs/sha256/<digest>.
		want := ""
		if d, ok := strings.CutPrefix(path.Clean(l), "blobs/sha256/"); ok {
			want = "sha256:" + d
		}
		if err := applyBlob(x, p, want, fmt.Sprintf("layer %d/%d (%s)", i+1, len(e.Layers), l)); err != nil {
			return nil, err
		}
		res.Layers++
	}
	return res, nil
}

// descriptor is the part of an OCI descriptor used here.
type descriptor struct {
	MediaType string             `json:"mediaType"`
	Digest    string             `json:"digest"`
	Size      int64              `json:"size"`
	Platform  *platform.Platform `json:"platform,omitempty"`
	Annots    json.RawMessage    `json:"annotations,omitempty"`
}

type index struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
	Layers    []descriptor `json:"layers"` // set when the blob is a manifest
	Config    *descriptor  `json:"config"`
}

const (
	mtOCIIndex      = "application/vnd.oci.image.index.v1+json"
	mtDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	mtDockerManifst = "application/vnd.docker.distribution.manifest.v2+json"
)

// blobPath is the file of a digest in an OCI layout.
func blobPath(dir, digest string) (string, error) {
	alg, hexd, ok := strings.Cut(digest, ":")
	if !ok || alg == "" || hexd == "" || strings.ContainsAny(digest, "/\\.") {
		return "", fmt.Errorf("bad digest %q", digest)
	}
	return filepath.Join(dir, "blobs", alg, hexd), nil
}

// readJSONBlob reads and verifies a small JSON blob.
func readJSONBlob(dir string, d descriptor, v any) error {
	p, err := blobPath(dir, d.Digest)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("blob %s: %v", d.Digest, err)
	}
	if err := checkDigest(d.Digest, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func checkDigest(digest string, b []byte) error {
	alg, want, _ := strings.Cut(digest, ":")
	if alg != "sha256" {
		return nil // not verifiable here; sha512 is rare
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("blob %s is corrupt: its content has digest sha256:%s", digest, got)
	}
	return nil
}

func applyOCI(x *extractor, dir string, opts Options) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %v", dir, err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("OCI layout %s: index.json: %v", dir, err)
	}
	want, err := platform.Parse(opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %v", opts.Platform, err)
	}
	// Walk nested indexes down to one manifest.
	for depth := 0; ; depth++ {
		if depth > 4 {
			return nil, fmt.Errorf("OCI layout %s: indexes nested too deep", dir)
		}
		d, err := pickManifest(idx.Manifests, want)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %v", dir, err)
		}
		var next index
		if err := readJSONBlob(dir, d, &next); err != nil {
			return nil, fmt.Errorf("OCI layout %s: %v", dir, err)
		}
		switch {
		case d.MediaType == mtOCIIndex || d.MediaType == mtDockerList || next.Manifests != nil:
			idx = next
			continue
		case len(next.Layers) == 0:
			return nil, fmt.Errorf("OCI layout %s: manifest %s has no layers", dir, d.Digest)
		}
		res := &Result{Kind: KindOCILayout, Image: d.Digest}
		for i, l := range next.Layers {
			p, err := blobPath(dir, l.Digest)
			if err != nil {
				return nil, fmt.Errorf("OCI layout %s: layer %d: %v", dir, i, err)
			}
			if strings.Contains(l.MediaType, "zstd") {
				return nil, fmt.Errorf("OCI layout %s: layer %s is zstd-compressed, which armhf-shim does not read; export the image with gzip layers", dir, l.Digest)
			}
			if err := applyBlob(x, p, l.Digest, fmt.Sprintf("layer %d/%d (%s)", i+1, len(next.Layers), l.Digest)); err != nil {
				return nil, err
			}
			res.Layers++
		}
		return res, nil
	}
}

// pickManifest chooses the manifest for platform want: the only one, or the
// one whose platform matches.
func pickManifest(ms []descriptor, want platform.Platform) (descriptor, error) {
	if len(ms) == 0 {
		return descriptor{}, fmt.Errorf("index lists no manifests")
	}
	if len(ms) == 1 {
		return ms[0], nil
	}
	var seen []string
	for _, d := range ms {
		if d.Platform == nil {
			seen = append(seen, "(none)")
			continue
		}
		seen = append(seen, platform.Normalize(*d.Platform).String())
		if platform.Match(want, *d.Platform) {
			return d, nil
		}
	}
	return descriptor{}, fmt.Errorf("no manifest for %s among %d (%s); pass the platform of the one to use",
		want, len(ms), strings.Join(seen, ", "))
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// applyBlob applies a layer file, verifying its sha256 digest (when
// digest is set) over the file's bytes as stored.
func applyBlob(x *extractor, p, digest, what string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	defer f.Close()
	var src io.Reader = f
	var hr *hashingReader
	if alg, _, _ := strings.Cut(digest, ":"); alg == "sha256" {
		hr = &hashingReader{r: f, h: sha256.New()}
		src = hr
	}
	r, done, err := decompress(src, what)
	if err != nil {
		return err
	}
	err = x.layer(r, what)
	done()
	if err != nil {
		return err
	}
	if hr != nil {
		// Whatever the tar reader left unread (padding) counts too.
		if _, err := io.Copy(io.Discard, src); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if got := "sha256:" + hex.EncodeToString(hr.h.Sum(nil)); got != digest {
			return fmt.Errorf("%s is corrupt: its content has digest %s, want %s", what, got, digest)
		}
	}
	return nil
}
