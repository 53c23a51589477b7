package lxc

// DefaultPath is the PATH of commands run in a container.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecEnv is the environment of a command run in a container: a clean one
// (PATH, HOME, TERM if set here), then extra (KEY=VALUE, later wins).
func ExecEnv(term string, extra []string) []string {
	env := []string{"PATH=" + DefaultPath, "HOME=/root"}
	if term != "" {
		env = append(env, "TERM="+term)
	}
	return append(env, extra...)
}

// ShellArgv is the interactive login shell of a root filesystem: bash if
// it has one, else sh.
func ShellArgv(rootfs string) []string {
	if HasPath(rootfs, "/bin/bash") {
		return []string{"/bin/bash", "-l"}
	}
	return []string{RootfsShell, "-l"}
}
