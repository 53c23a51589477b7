package dockerargs

import (
	"slices"
	"strings"
	"testing"
)

const file = "/run/armhf-shim/cpuinfo"

var mount = []string{"-v", file + ":/proc/cpuinfo:ro"}

// ins builds the expected output: before + inserted + after.
func ins(before string, block []string, after string) []string {
	out := strings.Fields(before)
	out = append(out, block...)
	return append(out, strings.Fields(after)...)
}

func TestRewriteTable(t *testing.T) {
	plat := []string{"--platform", "linux/arm/v7"}
	both := append(append([]string{}, mount...), plat...)
	tests := []struct {
		name   string
		argv   []string
		opts   Options
		want   []string // nil: unchanged
		action Action
	}{
		{"run", strings.Fields("run --rm busybox cat /proc/cpuinfo"), Options{CPUInfoFile: file},
			ins("run", mount, "--rm busybox cat /proc/cpuinfo"), Rewritten},
		{"create", strings.Fields("create --name x busybox"), Options{CPUInfoFile: file},
			ins("create", mount, "--name x busybox"), Rewritten},
		{"container run", strings.Fields("container run -it --rm debian:bookworm bash"), Options{CPUInfoFile: file},
			ins("container run", mount, "-it --rm debian:bookworm bash"), Rewritten},
		{"container create", strings.Fields("container create arm32v7/alpine"), Options{CPUInfoFile: file},
			ins("container create", mount, "arm32v7/alpine"), Rewritten},
		{"platform too", strings.Fields("run --rm arm32v7/debian uname -m"), Options{CPUInfoFile: file, Platform: "linux/arm/v7"},
			ins("run", both, "--rm arm32v7/debian uname -m"), Rewritten},
		{"platform only", strings.Fields("run img"), Options{Platform: "linux/arm/v7"},
			ins("run", plat, "img"), Rewritten},
		{"nothing to insert", strings.Fields("run img"), Options{}, nil, Passthrough},
		{"run without args", []string{"run"}, Options{CPUInfoFile: file}, ins("run", mount, ""), Rewritten},

		// Global options before the command.
		{"-H value", strings.Fields("-H unix:///var/run/docker.sock run img"), Options{CPUInfoFile: file},
			ins("-H unix:///var/run/docker.sock run", mount, "img"), Rewritten},
		{"--host=", strings.Fields("--host=unix:///x.sock run img"), Options{CPUInfoFile: file},
			ins("--host=unix:///x.sock run", mount, "img"), Rewritten},
		{"-Hvalue", strings.Fields("-Hunix:///x.sock container run img"), Options{CPUInfoFile: file},
			ins("-Hunix:///x.sock container run", mount, "img"), Rewritten},
		{"-H=value", strings.Fields("-H=unix:///x.sock run img"), Options{CPUInfoFile: file},
			ins("-H=unix:///x.sock run", mount, "img"), Rewritten},
		{"bundled -DH", strings.Fields("-DH unix:///x.sock run img"), Options{CPUInfoFile: file},
			ins("-DH unix:///x.sock run", mount, "img"), Rewritten},
		{"context + log-level + debug", strings.Fields("-c default --log-level debug -D run img"), Options{CPUInfoFile: file},
			ins("-c default --log-level debug -D run", mount, "img"), Rewritten},
		{"config dir named run", strings.Fields("--config run -l=warn run img"), Options{CPUInfoFile: file},
			ins("--config run -l=warn run", mount, "img"), Rewritten},
		{"tls options", strings.Fields("--tls --tlsverify --tlscacert /c/ca.pem --tlscert=/c/cert.pem --tlskey /c/key.pem -H tcp://127.0.0.1:2376 run img"), Options{CPUInfoFile: file},
			ins("--tls --tlsverify --tlscacert /c/ca.pem --tlscert=/c/cert.pem --tlskey /c/key.pem -H tcp://127.0.0.1:2376 run", mount, "img"), Rewritten},
		{"bool with =", strings.Fields("--debug=false --tls=true run img"), Options{CPUInfoFile: file},
			ins("--debug=false --tls=true run", mount, "img"), Rewritten},
		{"context named create", strings.Fields("--context create ps"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"host value looks like run", strings.Fields("-H run ps -a"), Options{CPUInfoFile: file}, nil, Passthrough},

		// The user's own arguments, whatever they are, stay after the block.
		{"end of options", strings.Fields("run --rm -- img -v x:/proc/cpuinfo"), Options{CPUInfoFile: file}, nil, UserMount},
		{"double dash", strings.Fields("run --rm -- img echo hi"), Options{CPUInfoFile: file},
			ins("run", mount, "--rm -- img echo hi"), Rewritten},
		{"user platform later wins", strings.Fields("run --platform linux/arm64 img"), Options{Platform: "linux/arm/v7"},
			ins("run", plat, "--platform linux/arm64 img"), Rewritten},
		{"cat -v in the command is not a mount", strings.Fields("run img cat -v /proc/cpuinfo"), Options{CPUInfoFile: file},
			ins("run", mount, "img cat -v /proc/cpuinfo"), Rewritten},
		{"other volumes", strings.Fields("run -v /src:/src -v cache:/root/.cache --mount type=bind,src=/a,dst=/proc/meminfo img"), Options{CPUInfoFile: file},
			ins("run", mount, "-v /src:/src -v cache:/root/.cache --mount type=bind,src=/a,dst=/proc/meminfo img"), Rewritten},
		{"volume at /proc is not cpuinfo", strings.Fields("run -v /x:/proc/cpuinfo.d img"), Options{CPUInfoFile: file},
			ins("run", mount, "-v /x:/proc/cpuinfo.d img"), Rewritten},

		// Already mounted at /proc/cpuinfo: left alone.
		{"-v", strings.Fields("run -v /tmp/ci:/proc/cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"-v ro", strings.Fields("run --rm -v /var/lib/lxcfs/proc/cpuinfo:/proc/cpuinfo:rw img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"-v=", strings.Fields("run -v=/tmp/ci:/proc/cpuinfo:ro img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"-vVALUE", strings.Fields("run -v/tmp/ci:/proc/cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"bundled -itv", strings.Fields("run -itv /tmp/ci:/proc/cpuinfo img sh"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--volume", strings.Fields("container run --volume /tmp/ci:/proc/cpuinfo:ro img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--volume=", strings.Fields("create --volume=/tmp/ci:/proc//cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount target", strings.Fields("run --mount type=bind,source=/tmp/ci,target=/proc/cpuinfo,readonly img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount dst", strings.Fields("run --mount type=bind,src=/tmp/ci,dst=/proc/cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount=destination", strings.Fields("run --mount=type=bind,src=/tmp/ci,destination=/proc/cpuinfo,ro=true img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount quoted csv", []string{"run", "--mount", `type=bind,"src=/tmp/a,b",target=/proc/cpuinfo`, "img"}, Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount tmpfs", strings.Fields("run --mount type=tmpfs,TARGET=/proc/./cpuinfo,tmpfs-size=4k img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--mount volume", []string{"run", "--mount", `type=volume,"volume-opt=o=size=1k,uid=0",dst=/proc/cpuinfo`, "img"}, Options{CPUInfoFile: file}, nil, UserMount},
		// A tmpfs on /proc/cpuinfo is a mount too (docker: "Duplicate mount point").
		{"--tmpfs", strings.Fields("run --tmpfs /proc/cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--tmpfs with options", strings.Fields("container create --tmpfs /proc/cpuinfo:rw,size=4k img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--tmpfs=", strings.Fields("run --tmpfs=/proc//cpuinfo img"), Options{CPUInfoFile: file}, nil, UserMount},
		{"--tmpfs elsewhere", strings.Fields("run --tmpfs /run --tmpfs=/tmp:size=1m img"), Options{CPUInfoFile: file},
			ins("run", mount, "--tmpfs /run --tmpfs=/tmp:size=1m img"), Rewritten},
		{"compose-style long forms", strings.Fields("--host=unix:///run/user/1000/docker.sock container create --name=svc --restart=unless-stopped --volume=/etc/armhf/cpuinfo:/proc/cpuinfo:ro --env=A=B img"), Options{CPUInfoFile: file, Platform: "linux/arm/v7"}, nil, UserMount},

		// Every other command passes through.
		{"no args", nil, Options{CPUInfoFile: file}, nil, Passthrough},
		{"version", strings.Fields("version --format {{.Server.Version}}"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"--version", strings.Fields("--version"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"-v is version", strings.Fields("-v"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"exec", strings.Fields("exec -it c1 cat /proc/cpuinfo"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"build", strings.Fields("build -t x ."), Options{CPUInfoFile: file}, nil, Passthrough},
		{"buildx", strings.Fields("buildx build --platform linux/arm/v7 ."), Options{CPUInfoFile: file}, nil, Passthrough},
		{"compose run", strings.Fields("compose run web"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"container ls", strings.Fields("container ls -a"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"container alone", strings.Fields("container"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"image named run", strings.Fields("pull run"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"container start", strings.Fields("container start -a run"), Options{CPUInfoFile: file}, nil, Passthrough},
		{"help run", strings.Fields("help run"), Options{CPUInfoFile: file}, nil, Passthrough},

		// Not understood: left alone.
		{"unknown global", strings.Fields("--experimental run img"), Options{CPUInfoFile: file}, nil, Unparsed},
		{"unknown short", strings.Fields("-X run img"), Options{CPUInfoFile: file}, nil, Unparsed},
		{"missing value", strings.Fields("-H"), Options{CPUInfoFile: file}, nil, Unparsed},
		{"-- before command", strings.Fields("-- run img"), Options{CPUInfoFile: file}, nil, Unparsed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.argv)
			got, res := Rewrite(tc.argv, tc.opts)
			if !slices.Equal(tc.argv, in) {
				t.Fatalf("Rewrite modified its input: %q", tc.argv)
			}
			want := tc.want
			if want == nil {
				want = tc.argv
			}
			if !slices.Equal(got, want) {
				t.Errorf("Rewrite(%q)\n got %q\nwant %q", tc.argv, got, want)
			}
			if res.Action != tc.action {
				t.Errorf("action = %v, want %v", res.Action, tc.action)
			}
			checkOnlyInserted(t, tc.argv, got, res, tc.opts)
		})
	}
}

func TestParseGlobals(t *testing.T) {
	tests := []struct {
		argv    string
		hosts   []string
		context string
		config  string
		path    []string
	}{
		{"-H tcp://10.0.0.1:2375 --host=ssh://me@box -c ctx1 --context=ctx2 --config /cfg run x", []string{"tcp://10.0.0.1:2375", "ssh://me@box"}, "ctx2", "/cfg", []string{"run"}},
		{"-DHunix:///a.sock -cfoo container create x", []string{"unix:///a.sock"}, "foo", "", []string{"container", "create"}},
		{"-H=unix:///b.sock -c=bar ps", []string{"unix:///b.sock"}, "bar", "", []string{"ps"}},
		{"--config=/x/y info", nil, "", "/x/y", []string{"info"}},
		{"", nil, "", "", nil},
	}
	for _, tc := range tests {
		c := Parse(strings.Fields(tc.argv))
		if !c.OK || !slices.Equal(c.Globals.Hosts, tc.hosts) || c.Globals.Context != tc.context ||
			c.Globals.Config != tc.config || !slices.Equal(c.Path, tc.path) {
			t.Errorf("Parse(%q) = %+v", tc.argv, c)
		}
	}
}

// checkOnlyInserted verifies the invariant the wrapper lives by: the output
// minus the inserted block is the input, and the block is exactly
// Insertion(opts) placed right after the command path.
func checkOnlyInserted(t *testing.T, in, out []string, res Result, opts Options) {
	t.Helper()
	if res.Action != Rewritten {
		if !slices.Equal(in, out) {
			t.Fatalf("action %v but output differs:\n in %q\nout %q", res.Action, in, out)
		}
		return
	}
	block := Insertion(opts)
	if res.N != len(block) || len(out) != len(in)+len(block) {
		t.Fatalf("inserted %d args, want %d (in %q out %q)", res.N, len(block), in, out)
	}
	if !slices.Equal(out[res.At:res.At+res.N], block) {
		t.Fatalf("inserted block %q, want %q", out[res.At:res.At+res.N], block)
	}
	rest := append(slices.Clone(out[:res.At]), out[res.At+res.N:]...)
	if !slices.Equal(rest, in) {
		t.Fatalf("output minus insertion differs from input:\n in %q\nout %q", in, out)
	}
	if !res.Command.IsCreate() || res.At != res.Command.ArgsIndex {
		t.Fatalf("inserted at %d, command %+v", res.At, res.Command)
	}
}

func FuzzRewrite(f *testing.F) {
	seeds := []string{
		"run --rm busybox cat /proc/cpuinfo",
		"-H unix:///x run -v a:/proc/cpuinfo img",
		"container create --mount type=bind,src=a,target=/proc/cpuinfo img",
		"-DHtcp://h:1 container run -itv /a:/b img",
		"--config=/c --tlsverify create -- img",
		"version --format {{.Server.Arch}}",
		"-- run",
		"--volume=:/proc/cpuinfo run",
		"run --tmpfs /proc/cpuinfo:size=1k img",
	}
	for _, s := range seeds {
		f.Add(strings.ReplaceAll(s, " ", "\x00"), true, false)
	}
	f.Fuzz(func(t *testing.T, joined string, withFile, withPlatform bool) {
		var argv []string
		if joined != "" {
			argv = strings.Split(joined, "\x00")
		}
		opts := Options{}
		if withFile {
			opts.CPUInfoFile = file
		}
		if withPlatform {
			opts.Platform = "linux/arm/v7"
		}
		in := slices.Clone(argv)
		out, res := Rewrite(argv, opts)
		if !slices.Equal(argv, in) {
			t.Fatalf("input modified")
		}
		checkOnlyInserted(t, in, out, res, opts)
	})
}
