package runcargs

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: Parse and LogFlags never panic, and what Parse reads is what the real
// runtime will read: the argv it hands on (Args, re-serialised with
// armhf-shim's own flags) parses to the same invocation. An argv is fuzzed
// as one string, its arguments separated by NUL (which no argument can
// hold). The seeds are the captured command lines of testdata/runc.
func FuzzParse(f *testing.F) {
	for _, l := range loadCorpus(f) {
		f.Add(strings.Join(l.Argv, "\x00"))
		// The same with armhf-shim's own flags in both spellings, as
		// daemon.json runtimeArgs put them first.
		f.Add(strings.Join(append([]string{"--armhf-shim-runtime=/usr/sbin/runc", "--armhf-shim-state-root", "/run/armhf-shim"}, l.Argv...), "\x00"))
	}
	for _, s := range [][]string{
		{},
		{"--version"},
		{"--armhf-shim-runtime"},
		{"--armhf-shim-config=", "create"},
		{"--foo", "--armhf-shim-runtime=r", "bar", "create", "id"},
		{"--root", "--armhf-shim-runtime=r", "run", "-b", "b", "id"},
		{"--debug=maybe", "--", "create", "x"},
		{"create", "id", "--bundle=b", "--detach=false", "-x"},
		{"exec", "--process", "p.json", "--", "id", "sh"},
		{"-log", "l", "-log-format=json", "delete", "-f", "id"},
	} {
		f.Add(strings.Join(s, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		var argv []string
		if joined != "" {
			argv = strings.Split(joined, "\x00")
		}
		orig := slices.Clone(argv)
		LogFlags(argv) // used when Parse fails: must not panic either
		inv, err := Parse(argv)
		if !slices.Equal(argv, orig) {
			t.Fatalf("Parse modified its argv: %q -> %q", orig, argv)
		}
		if err != nil {
			return
		}
		again := Serialise(inv)
		inv2, err := Parse(again)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v; its re-serialisation %q fails: %v", argv, inv, again, err)
		}
		if !reflect.DeepEqual(normal(inv2), normal(inv)) {
			t.Fatalf("Parse(%q) =\n\t%+v\nParse(Serialise(that)) = Parse(%q) =\n\t%+v", argv, normal(inv), again, normal(inv2))
		}
	})
}

// normal is inv with empty slices made nil, for comparison.
func normal(inv *Invocation) Invocation {
	n := *inv
	for _, s := range []*[]string{&n.Args, &n.Unknown, &n.UnknownGlobal} {
		if len(*s) == 0 {
			*s = nil
		}
	}
	return n
}
