package dockercli

import (
	"github.com/armhf-shim/armhf-shim/dockercli/dockerargs"
	"github.com/armhf-shim/armhf-shim/internal/platform"
)

// Is32Bit decides whether the container of a run/create command (runArgs:
// its arguments after the command path) is 32-bit, the one kind that gets
// the armv7 cpuinfo, by the first of:
//
//  1. its platform: the last --platform of the command, else the one the
//     wrapper adds (want);
//  2. its image's architecture as the daemon at d has it;
//  3. the daemon's own architecture (an image it does not have is pulled
//     for that one; a 32-bit dockerd's containers are all 32-bit).
//
// When none of them can be told (the daemon cannot be asked: not a unix
// socket, not answering), the container gets the cpuinfo, as it always
// did before the wrapper asked. why says which rule decided.
func Is32Bit(runArgs []string, want string, d Daemon, eng Engine) (bool, string) {
	run, ok := dockerargs.ParseRun(runArgs)
	if ok && run.Platform != "" {
		want = run.Platform
	}
	if want != "" {
		p, err := platform.Parse(want)
		if err != nil {
			return true, "--platform " + want + " unreadable (" + err.Error() + ")"
		}
		return is32(p), "--platform " + p.String()
	}
	if ok {
		p, found, err := eng.ImagePlatform(d.Host, run.Image)
		if err != nil {
			return true, "cannot ask the daemon about image " + run.Image + " (" + err.Error() + ")"
		}
		if found {
			return is32(p), "image " + run.Image + " is " + platform.Normalize(p).String()
		}
	}
	p, err := eng.DaemonPlatform(d.Host)
	if err != nil {
		return true, "cannot ask the daemon its architecture (" + err.Error() + ")"
	}
	return is32(p), "the daemon is " + platform.Normalize(p).String()
}

// is32 reports whether p is one of the 32-bit architectures a 64-bit
// kernel runs natively (arm on arm64, 386 on amd64).
func is32(p platform.Platform) bool {
	switch platform.Normalize(p).Architecture {
	case "arm", "386":
		return true
	}
	return false
}
