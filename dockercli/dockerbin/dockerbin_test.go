package dockerbin

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeExe(t *testing.T, p, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// layout builds the situations of a real build host under a temp dir:
//
//	wrap/armhf-shim           the wrapper binary
//	local/docker -> ../wrap/armhf-shim   (installed in front, symlink)
//	hard/docker               hard link to the wrapper
//	copy/docker               a second copy of the wrapper (different file)
//	usr/bin/docker            the real CLI ("20.10")
//	bin -> usr/bin            the /bin -> /usr/bin merge
//	opt/docker                another real CLI ("28.2")
//	noexec/docker             not executable
//	dir/docker/               a directory
func layout(t *testing.T) (root, self string) {
	root = t.TempDir()
	self = writeExe(t, filepath.Join(root, "wrap/armhf-shim"), "wrapper")
	must(t, os.MkdirAll(filepath.Join(root, "local"), 0o755))
	must(t, os.Symlink("../wrap/armhf-shim", filepath.Join(root, "local/docker")))
	must(t, os.MkdirAll(filepath.Join(root, "hard"), 0o755))
	must(t, os.Link(self, filepath.Join(root, "hard/docker")))
	writeExe(t, filepath.Join(root, "copy/docker"), "wrapper")
	writeExe(t, filepath.Join(root, "usr/bin/docker"), "real 20.10")
	must(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))
	writeExe(t, filepath.Join(root, "opt/docker"), "real 28.2")
	must(t, os.MkdirAll(filepath.Join(root, "noexec"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "noexec/docker"), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(root, "dir/docker"), 0o755))
	return root, self
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	root, self := layout(t)
	p := func(dirs ...string) string {
		for i, d := range dirs {
			dirs[i] = filepath.Join(root, d)
		}
		return strings.Join(dirs, ":")
	}
	tests := []struct {
		name     string
		f        Finder
		want     string // relative to root; "" means an error
		errMatch string
	}{
		{"symlink to self skipped", Finder{PATH: p("local", "usr/bin"), Self: self}, "usr/bin/docker", ""},
		{"self via its own dir", Finder{PATH: p("wrap", "local", "opt"), Self: filepath.Join(root, "local/docker")}, "opt/docker", ""},
		{"hard link skipped", Finder{PATH: p("hard", "bin", "usr/bin"), Self: self}, "bin/docker", ""},
		{"noexec and dir skipped", Finder{PATH: p("noexec", "dir", "opt"), Self: self}, "opt/docker", ""},
		{"first real wins", Finder{PATH: p("local", "opt", "usr/bin"), Self: self}, "opt/docker", ""},
		{"second copy reached first, chain records us", Finder{PATH: p("local", "copy", "usr/bin"), Self: filepath.Join(root, "copy/docker"),
			Chain: Chain{self}}, "usr/bin/docker", ""},
		{"explicit", Finder{Explicit: filepath.Join(root, "usr/bin/docker"), PATH: p("opt"), Self: self}, "usr/bin/docker", ""},
		{"explicit name on PATH", Finder{Explicit: "docker", PATH: p("local", "bin"), Self: self}, "bin/docker", ""},
		{"explicit is self", Finder{Explicit: filepath.Join(root, "local/docker"), PATH: p("usr/bin"), Self: self}, "", "is armhf-shim itself"},
		{"explicit missing", Finder{Explicit: filepath.Join(root, "nope/docker"), Self: self}, "", "no such file"},
		{"explicit not executable", Finder{Explicit: filepath.Join(root, "noexec/docker"), Self: self}, "", "not an executable"},
		{"only the wrapper", Finder{PATH: p("local", "hard", "wrap"), Self: self}, "", "local/docker (armhf-shim wrapper)"},
		{"empty PATH", Finder{PATH: "", Self: self}, "", "no docker on PATH"},
		{"chain too long", Finder{PATH: p("usr/bin"), Self: self, Chain: make(Chain, MaxChain)}, "", "wrappers exec'd each other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f.Find()
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errMatch) {
					t.Fatalf("Find() = %q, %v; want error containing %q", got, err, tc.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatalf("Find(): %v", err)
			}
			if want := filepath.Join(root, tc.want); got != want {
				t.Fatalf("Find() = %s, want %s", got, want)
			}
		})
	}
	_, err := Finder{PATH: p("local"), Self: self}.Find()
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("not found error %v does not wrap ErrNotFound", err)
	}
}

// TestTwoCopiesTerminate simulates two different copies of the wrapper on
// PATH exec'ing each other: each hop adds itself to the chain, so the walk
// ends at the real docker instead of looping.
func TestTwoCopiesTerminate(t *testing.T) {
	root, self := layout(t)
	path := strings.Join([]string{filepath.Join(root, "copy"), filepath.Join(root, "local"), filepath.Join(root, "usr/bin")}, ":")
	wrappers := map[string]bool{filepath.Join(root, "copy/docker"): true, filepath.Join(root, "local/docker"): true}
	cur := filepath.Join(root, "copy/docker") // what the shell runs first
	var chain Chain
	var visited []string
	for range 10 {
		if !wrappers[cur] {
			break
		}
		rp, _ := filepath.EvalSymlinks(cur)
		visited = append(visited, rp)
		next, err := Finder{PATH: path, Self: cur, Chain: chain}.Find()
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, rp)
		// The env var round trip, as the next process sees it.
		chain = ParseChain(chain.Format(4242), 4242)
		cur = next
	}
	if cur != filepath.Join(root, "usr/bin/docker") {
		t.Fatalf("ended at %s after %q", cur, visited)
	}
	if want := []string{filepath.Join(root, "copy/docker"), self}; !slices.Equal(visited, want) {
		t.Fatalf("visited %q, want %q", visited, want)
	}
}

func TestChainEnv(t *testing.T) {
	c := Chain{"/usr/local/bin/armhf-shim", "/opt/x/docker"}
	v := c.Format(77)
	if got := ParseChain(v, 77); !slices.Equal(got, c) {
		t.Errorf("round trip = %q", got)
	}
	if got := ParseChain(v, 78); got != nil {
		t.Errorf("another PID must not inherit the chain, got %q", got)
	}
	for _, bad := range []string{"", "77", "x\n/a", "\n/a"} {
		if got := ParseChain(bad, 77); len(got) != 0 {
			t.Errorf("ParseChain(%q) = %q", bad, got)
		}
	}
}

func TestCandidatesDuplicates(t *testing.T) {
	root, self := layout(t)
	f := Finder{PATH: strings.Join([]string{filepath.Join(root, "bin"), filepath.Join(root, "usr/bin"), filepath.Join(root, "local")}, ":"), Self: self}
	c := f.Candidates(Name)
	var skips []string
	for _, x := range c {
		skips = append(skips, x.Skip)
	}
	if want := []string{"", "duplicate", "armhf-shim wrapper"}; !slices.Equal(skips, want) {
		t.Fatalf("skips = %q, want %q (%+v)", skips, want, c)
	}
}
