// Package config owns armhf-shim's configuration file and its on/off
// switch, for every part of armhf-shim that reads them.
//
// The model: each setting comes from the first of a flag, the
// environment, the config file and the default. The config file is
// /etc/armhf-shim/config.json (ARMHF_SHIM_CONFIG, or the runtime
// wrapper's --armhf-shim-config, names another; the default one may be
// absent), one JSON object shared by all parts:
//
//	key             read by                   value
//	runtime         the runtime wrapper       the real OCI runtime: a path, or a name on PATH
//	stateRoot       the runtime wrapper       where per-container state lives
//	docker          the docker CLI wrapper    the real docker CLI
//	dockerCPUInfo   the docker CLI wrapper    the cpuinfo file to mount
//	dockerPlatform  the docker CLI wrapper    true, false, or a platform for --platform
//	dockerCPUInfoAll the docker CLI wrapper   true: the cpuinfo for 64-bit containers too
//	machine         the runtime wrapper       what uname -m says in 32-bit containers (docs/uname.md)
//	seccompAgent    the runtime wrapper       the socket of armhf-shim seccomp-agent
//
// Each part reads only its own keys, but the whole file is checked: a key
// not in this table is an error naming the file (a typo must not be
// silently ignored). Names match as encoding/json matches them (also in
// another case), the last of a repeated name wins, null leaves a setting
// unset, and an empty file or null is no settings at all. The file is read
// without encoding/json, whose reflection is start-up cost on every
// runtime and docker call.
//
// ARMHF_SHIM is armhf-shim's switch, with one meaning of its values
// everywhere ([Switch]): 1, true, yes, on — or 0, false, no, off, in any
// case; anything else is an error. In a container's environment
// (docker run -e ARMHF_SHIM=0) it decides for that container against
// auto-detection; in the environment of a docker command, 0 turns the
// docker CLI wrapper off.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/internal/rawjson"
)

// The config file.
const (
	DefaultPath = "/etc/armhf-shim/config.json"
	EnvPath     = "ARMHF_SHIM_CONFIG" // names another config file
)

// EnvSwitch is the on/off switch read by [Switch].
const EnvSwitch = "ARMHF_SHIM"

// Keys of the config file.
const (
	KeyRuntime          = "runtime"
	KeyStateRoot        = "stateRoot"
	KeyDocker           = "docker"
	KeyDockerCPUInfo    = "dockerCPUInfo"
	KeyDockerPlatform   = "dockerPlatform"
	KeyDockerCPUInfoAll = "dockerCPUInfoAll"
	KeyMachine          = "machine"
	KeySeccompAgent     = "seccompAgent"
)

// Keys lists every key of the config file, for error messages.
const Keys = KeyRuntime + ", " + KeyStateRoot + ", " + KeyDocker + ", " + KeyDockerCPUInfo + ", " + KeyDockerPlatform + ", " + KeyDockerCPUInfoAll +
	", " + KeyMachine + ", " + KeySeccompAgent

// File is the config file's content ("" = not set).
type File struct {
	Runtime       string
	StateRoot     string
	Docker        string
	DockerCPUInfo string
	// DockerPlatform is "true" or "false" for a JSON boolean, else the
	// string as written; the docker CLI wrapper reads it as it reads
	// ARMHF_SHIM_PLATFORM.
	DockerPlatform string
	// DockerCPUInfoAll: the docker CLI wrapper mounts the cpuinfo for
	// every container, not only 32-bit ones.
	DockerCPUInfoAll bool
	// Uname holds the keys machine and seccompAgent when the file sets
	// either (nil otherwise).
	Uname *Uname
}

// Uname is what uname -m says in 32-bit containers ("" = the kernel's),
// answered by the seccomp agent on SeccompAgent (the runtime wrapper).
type Uname struct {
	Machine      string
	SeccompAgent string
}

// Parse decodes a config file's content.
func Parse(data []byte) (File, error) {
	var f File
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	var bad error
	err := rawjson.CheckObject(data, func(name, val []byte) {
		if bad == nil {
			bad = f.set(name, val)
		}
	})
	switch {
	case err == rawjson.ErrNotObject && rawjson.IsNull(bytes.TrimSpace(data)):
		return File{}, nil
	case err == nil:
		err = bad
	}
	return f, err
}

// uname returns f.Uname, made on first use.
func (f *File) uname() *Uname {
	if f.Uname == nil {
		f.Uname = &Uname{}
	}
	return f.Uname
}

// set takes one member of the file.
func (f *File) set(name, val []byte) error {
	n := rawjson.Name(name)
	if rawjson.NameIs(name, KeyDockerPlatform) {
		switch raw := bytes.TrimSpace(val); rawjson.Kind(raw) {
		case "null":
			f.DockerPlatform = "" // as encoding/json sets an interface to nil
		case "a boolean":
			f.DockerPlatform = string(raw)
		case "a string":
			f.DockerPlatform, _ = rawjson.String(raw) // valid: CheckObject checked it
		default:
			return fmt.Errorf("%s must be true, false or a platform like \"linux/arm/v7\"", n)
		}
		return nil
	}
	if rawjson.NameIs(name, KeyDockerCPUInfoAll) {
		switch raw := bytes.TrimSpace(val); rawjson.Kind(raw) {
		case "null":
		case "a boolean":
			f.DockerCPUInfoAll = string(raw) == "true"
		default:
			return fmt.Errorf("%s must be true or false", n)
		}
		return nil
	}
	var dst *string
	switch {
	case rawjson.NameIs(name, KeyRuntime):
		dst = &f.Runtime
	case rawjson.NameIs(name, KeyStateRoot):
		dst = &f.StateRoot
	case rawjson.NameIs(name, KeyDocker):
		dst = &f.Docker
	case rawjson.NameIs(name, KeyDockerCPUInfo):
		dst = &f.DockerCPUInfo
	case rawjson.NameIs(name, KeyMachine):
		dst = &f.uname().Machine
	case rawjson.NameIs(name, KeySeccompAgent):
		dst = &f.uname().SeccompAgent
	default:
		return fmt.Errorf("unknown key %q (the keys: %s)", n, Keys)
	}
	s, err := rawjson.String(val)
	if err != nil {
		return fmt.Errorf("%s: %w", n, err)
	}
	if !rawjson.IsNull(bytes.TrimSpace(val)) {
		*dst = s
	}
	return nil
}

// Locate names the config file: flag (the runtime wrapper's
// --armhf-shim-config), else $ARMHF_SHIM_CONFIG, else [DefaultPath].
// explicit is false for the default, which may be absent.
func Locate(flag string, getenv func(string) string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := getenv(EnvPath); p != "" {
		return p, true
	}
	return DefaultPath, false
}

// Load reads and parses the config file at path. An absent file that was
// not named explicitly is no file (found is false). found with an error
// is a file that does not parse; a read error is returned as the
// *fs.PathError it is.
func Load(path string, explicit bool) (f File, found bool, err error) {
	data, err := fsutil.ReadFile(path)
	if err != nil {
		if !explicit && fsutil.IsNotExist(err) {
			return File{}, false, nil
		}
		return File{}, false, err
	}
	if f, err = Parse(data); err != nil {
		return File{}, true, fmt.Errorf("armhf-shim config file %s is malformed: %w", path, err)
	}
	return f, true, nil
}

// ErrSwitch is the error of a value of ARMHF_SHIM that is not one of
// [Switch]'s.
var ErrSwitch = errors.New("want 1, true, yes or on, or 0, false, no or off")

// Switch reads a value of the ARMHF_SHIM switch: 1, true, yes, on (on) or
// 0, false, no, off (off), in any case, surrounding spaces ignored. The
// empty value is "not set", which each caller handles before asking.
func Switch(v string) (on bool, err error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, ErrSwitch
}
