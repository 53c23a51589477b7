// Command package builds armhf-shim's .deb and .rpm packages with nfpm
// (make package). Installing a package registers nothing: it puts the
// binaries, units, docs and completions in place, and `armhf-shim setup`
// registers them with the engines; removing it removes its files only.
//
//	go run ./package -repo .. -bin ../bin/pkg -version "$(git describe ...)" -commits N -out ../dist
//
// -bin holds linux_<arch>/{armhf-shim,armhf-runc,armhf-docker} per arch and,
// for the arch armhf-lxc was built for, linux_<arch>/armhf-lxc, which goes
// into a package of its own: it is the one cgo binary (liblxc), so it is
// built for this machine's arch only, and users of the static binaries do
// not get liblxc pulled in.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm"
)

const (
	homepage   = "https://github.com/armhf-shim/armhf-shim"
	maintainer = "armhf-shim developers <armhf-shim@users.noreply.github.com>"
)

func main() {
	repo := flag.String("repo", ".", "the repository (deploy/systemd, docs)")
	bins := flag.String("bin", "bin/pkg", "directory of linux_<arch>/ binaries")
	compl := flag.String("completions", "", "directory of the completion scripts (bash, zsh, fish)")
	describe := flag.String("version", "", "git describe --tags --always --dirty")
	commits := flag.Int("commits", 0, "git rev-list --count HEAD (versions without a tag)")
	out := flag.String("out", "dist", "where the packages go")
	arches := flag.String("arch", "amd64 arm64", "architectures")
	flag.Parse()
	if err := run(*repo, *bins, *compl, *describe, *commits, *out, strings.Fields(*arches)); err != nil {
		fmt.Fprintln(os.Stderr, "package: "+err.Error())
		os.Exit(1)
	}
}

func run(repo, bins, compl, describe string, commits int, out string, arches []string) error {
	version, err := PackageVersion(describe, commits)
	if err != nil {
		return err
	}
	units, err := readUnits(filepath.Join(repo, "deploy", "systemd"))
	if err != nil {
		return err
	}
	docs, err := readDocs(repo)
	if err != nil {
		return err
	}
	completions := map[string][]byte{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		b, err := os.ReadFile(filepath.Join(compl, sh))
		if err != nil {
			return fmt.Errorf("completion script: %w", err)
		}
		completions[sh] = b
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, arch := range arches {
		dir := filepath.Join(bins, "linux_"+arch)
		in := Inputs{Bins: map[string]string{}, Units: units, Docs: docs, Completions: completions}
		for _, b := range Static {
			in.Bins[b] = filepath.Join(dir, b)
		}
		fs, err := Contents(in)
		if err != nil {
			return err
		}
		if err := CheckUnits(fs); err != nil {
			return err
		}
		info := &nfpm.Info{
			Name:        "armhf-shim",
			Section:     "admin",
			Arch:        arch,
			Version:     version,
			Description: "native-speed armhf builds on 64-bit ARM servers\nThe LINUX32 personality and an armv7 /proc/cpuinfo for armhf workloads, by every\nroute a build farm uses: exec, an OCI runtime wrapper and hook (Docker, containerd,\nBuildKit, podman, CRI-O), a docker CLI wrapper, a 32-bit dockerd. Installing the\npackage registers nothing: run `armhf-shim setup`.",
		}
		info.Overridables.Recommends = []string{"runc | crun"}
		if err := build(info, fs, out); err != nil {
			return err
		}
		lxc := filepath.Join(dir, "armhf-lxc")
		if _, err := os.Stat(lxc); err == nil {
			li := &nfpm.Info{
				Name:        "armhf-shim-lxc",
				Arch:        arch,
				Version:     version,
				Description: "armhf-lxc: a 32-bit LXC build host (armhf-shim)\nThe cgo binary, linked against liblxc, apart from the static armhf-shim package.",
			}
			li.Overridables.Depends = []string{"liblxc1 | liblxc1t64"}
			lf := []File{{Src: lxc, Dst: filepath.Join(binDir, "armhf-lxc"), Mode: 0o755}}
			if err := build(li, lf, out, "deb"); err != nil {
				return err
			}
			li.Overridables.Depends = []string{"lxc-libs"}
			if err := build(li, lf, out, "rpm"); err != nil {
				return err
			}
		}
	}
	return nil
}

// build writes info's package with files fs for each format (default deb
// and rpm).
func build(base *nfpm.Info, fs []File, out string, formats ...string) error {
	if len(formats) == 0 {
		formats = []string{"deb", "rpm"}
	}
	stage, err := os.MkdirTemp(out, ".stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	for _, format := range formats {
		info := *base
		info.Overridables.Recommends = append([]string(nil), base.Overridables.Recommends...)
		info.VersionSchema = "none" // PackageVersion already made it valid for both
		info.Maintainer = maintainer
		info.Homepage = homepage
		info.Vendor = "armhf-shim"
		info.Umask = 0o022
		if format == "rpm" {
			// rpm spells an alternative as a rich dependency.
			for i, r := range info.Overridables.Recommends {
				if strings.Contains(r, "|") {
					info.Overridables.Recommends[i] = "(" + strings.ReplaceAll(r, " | ", " or ") + ")"
				}
			}
		}
		var contents files.Contents
		for i, f := range fs {
			if f.Packager != "" && f.Packager != format {
				continue
			}
			src := f.Src
			if f.Data != nil {
				src = filepath.Join(stage, fmt.Sprintf("%d-%s", i, filepath.Base(f.Dst)))
				if err := os.WriteFile(src, f.Data, f.Mode); err != nil {
					return err
				}
			}
			typ := files.TypeFile
			if f.Doc && format == "rpm" {
				typ = files.TypeRPMDoc
			}
			contents = append(contents, &files.Content{Source: src, Destination: f.Dst, Type: typ, FileInfo: &files.ContentFileInfo{Mode: f.Mode}})
		}
		if format == "rpm" && hasPrefix(fs, docDir+"/") {
			// rpm owns only what it lists: the doc directory too, so that
			// removing the package removes it.
			contents = append(contents, &files.Content{Destination: docDir, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}})
		}
		info.Overridables.Contents = contents
		p, err := nfpm.Get(format)
		if err != nil {
			return err
		}
		ni := nfpm.WithDefaults(&info)
		if err := nfpm.PrepareForPackager(ni, format); err != nil {
			return fmt.Errorf("%s %s: %w", info.Name, format, err)
		}
		name := filepath.Join(out, p.ConventionalFileName(ni))
		if err := write(name, func(f *os.File) error { return p.Package(ni, f) }); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Println(name)
	}
	return nil
}

func hasPrefix(fs []File, prefix string) bool {
	for _, f := range fs {
		if strings.HasPrefix(f.Dst, prefix) {
			return true
		}
	}
	return false
}

// write makes name atomically: a half-written package never has its name.
func write(name string, fill func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".pkg-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
