package install

import (
	"encoding/json"
	"regexp"
	"testing"
)

// emptyOverLines is an empty object written over several lines, which
// install and uninstall give back as {} (the one layout they do not keep:
// nothing in {} and {\n} says which it was once a member is in it).
var emptyOverLines = regexp.MustCompile(`\{[ \t\r]*\n[ \t\r\n]*\}`)

// FuzzInstallUninstall: on any daemon.json, install gives valid JSON with
// the runtime registered (or refuses), and uninstall then gives back the
// bytes install found.
func FuzzInstallUninstall(f *testing.F) {
	for _, l := range layouts {
		f.Add([]byte(l), false)
		f.Add([]byte(l), true)
	}
	f.Add([]byte(daemonJSON), true)
	f.Fuzz(func(t *testing.T, in []byte, setDefault bool) {
		var m map[string]any
		if json.Unmarshal(in, &m) != nil || m == nil || emptyOverLines.Match(in) {
			return
		}
		rec := &record{}
		e := edit("armhf", "/usr/local/bin/armhf-runc", setDefault)
		out, err := DockerInstall(in, rec, e)
		if err != nil {
			return // a runtimes or entry that is not an object, an entry not ours
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("install made invalid JSON (%v):\n%s\nfrom\n%s", err, out, in)
		}
		rts, _ := got["runtimes"].(map[string]any)
		entry, _ := rts["armhf"].(map[string]any)
		if entry["path"] != "/usr/local/bin/armhf-runc" || setDefault && got["default-runtime"] != "armhf" {
			t.Fatalf("not registered:\n%s\nfrom\n%s", out, in)
		}
		back, err := DockerUninstall(out, rec, "armhf", e.Ours)
		if err != nil || string(back) != string(in) {
			t.Fatalf("uninstall gave\n%q (%v)\nwant\n%q\n(installed %q)", back, err, in, out)
		}
	})
}
