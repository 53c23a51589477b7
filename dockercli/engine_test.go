package dockercli

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDaemon serves the two questions the wrapper asks, on a unix socket,
// with net/http (what dockerd answers with); it records the paths asked.
func fakeDaemon(t *testing.T, handler http.HandlerFunc) (host string, asked *[]string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		handler(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, &paths
}

func TestSocketEngine(t *testing.T) {
	// A long image answer: more than one read, and more than net/http
	// sends in one piece.
	pad := strings.Repeat("x", 100<<10)
	host, asked := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/images/i386/debian:12/json":
			w.Write([]byte(`{"Id":"sha256:1","Config":{"Architecture":"nope"},"Pad":"` + pad + `","Architecture":"386","Os":"linux"}`))
		case "/images/arm32v7/debian/json":
			w.Write([]byte(`{"Architecture":"arm","Variant":"v7","Os":"linux"}`))
		case "/version":
			w.Write([]byte(`{"Version":"20.10.24","Os":"linux","Arch":"amd64"}`))
		case "/images/broken/json":
			w.WriteHeader(500)
		default:
			http.NotFound(w, r)
		}
	})
	e := SocketEngine{Timeout: 5 * time.Second}
	for image, want := range map[string]string{"i386/debian:12": "linux/386", "arm32v7/debian": "linux/arm/v7"} {
		p, found, err := e.ImagePlatform(host, image)
		if err != nil || !found || p.String() != want {
			t.Errorf("ImagePlatform(%s) = %v %v %v, want %s", image, p, found, err, want)
		}
	}
	if _, found, err := e.ImagePlatform(host, "alpine"); err != nil || found {
		t.Errorf("absent image: found %v, %v", found, err)
	}
	if _, _, err := e.ImagePlatform(host, "broken"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a 500: %v", err)
	}
	if _, _, err := e.ImagePlatform(host, "a b"); err == nil {
		t.Error("a reference with a space was sent")
	}
	p, err := e.DaemonPlatform(host)
	if err != nil || p.String() != "linux/amd64" {
		t.Errorf("DaemonPlatform = %v %v", p, err)
	}
	want := "GET /images/i386/debian:12/json,GET /images/arm32v7/debian/json,GET /images/alpine/json,GET /images/broken/json,GET /version"
	// Map order: compare as sets of the first two.
	if got := strings.Join(*asked, ","); len(*asked) != 5 || !strings.HasSuffix(got, "GET /images/alpine/json,GET /images/broken/json,GET /version") ||
		!strings.Contains(got, "GET /images/i386/debian:12/json") || !strings.Contains(got, "GET /images/arm32v7/debian/json") {
		t.Errorf("asked %s, want %s", got, want)
	}
}

func TestSocketEngineUnreachable(t *testing.T) {
	e := SocketEngine{Timeout: time.Second}
	if _, err := e.DaemonPlatform("unix://" + filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("a missing socket answered")
	}
	if _, err := e.DaemonPlatform("tcp://127.0.0.1:2375"); err != errNotUnix {
		t.Errorf("tcp: %v", err)
	}
	// A daemon that accepts and never answers: the timeout ends the wait.
	sock := filepath.Join(t.TempDir(), "mute.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	if _, err := (SocketEngine{Timeout: 200 * time.Millisecond}).DaemonPlatform("unix://" + sock); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("mute daemon: %v after %v", err, time.Since(start))
	}
}
