package rawjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// CheckMembers finds each key's last value, exactly named, and skips
// everything else however it is nested.
func TestMembers(t *testing.T) {
	obj := []byte(` { "a" : [1,{"b":"}"}] , "b":"x\"y", "\u0063":{"d":[]}, "a":null } `)
	out := make([][]byte, 4)
	if err := CheckMembers(obj, []string{"a", "b", "c", "d"}, out); err != nil {
		t.Fatal(err)
	}
	want := []string{"null", `"x\"y"`, `{"d":[]}`, ""}
	for i, w := range want {
		if string(out[i]) != w {
			t.Errorf("member %d = %q, want %q", i, out[i], w)
		}
	}
	raw, at, err := EntryAt(obj, "b")
	if err != nil || string(obj[at:at+len(raw)]) != `"x\"y"` {
		t.Errorf("EntryAt = %q at %d, %v", raw, at, err)
	}
}

func TestScanErrors(t *testing.T) {
	for _, c := range []string{``, `[]`, `{`, `{"a"`, `{"a":}`, `{"a":[}`, `{"a":"x}`, `{"a":1 "b":2}`, `{a:1}`, `{}x`, `{"a":1}x`} {
		if _, err := Member([]byte(c), "b"); !errors.Is(err, ErrSyntax) {
			t.Errorf("Member(%q): %v", c, err)
		}
	}
	var got []string
	err := eachElement([]byte(`[1, "a", {"x":[2]} ,null]`), func(el []byte) error { got = append(got, string(el)); return nil })
	if err != nil || !reflect.DeepEqual(got, []string{"1", `"a"`, `{"x":[2]}`, "null"}) {
		t.Errorf("eachElement = %q, %v", got, err)
	}
	for _, c := range []string{`[1,]`, `[1 2]`, `[`, `{}`, `[1]x`} {
		if err := eachElement([]byte(c), func([]byte) error { return nil }); !errors.Is(err, ErrSyntax) {
			t.Errorf("eachElement(%q): %v", c, err)
		}
	}
}

func TestNames(t *testing.T) {
	if Name([]byte(`"plain"`)) != "plain" || Name([]byte(`"\u0041\n"`)) != "A\n" {
		t.Error("Name")
	}
	if !NameIs([]byte(`"pro\u0063ess"`), "process") || !NameIs([]byte(`"Process"`), "process") || NameIs([]byte(`"processs"`), "process") {
		t.Error("NameIs")
	}
	if !IsNull(nil) || !IsNull([]byte(" null ")) || IsNull([]byte(`"null"`)) {
		t.Error("IsNull")
	}
}

// NameIs matches a member name to a key exactly as encoding/json matches
// it to a field tagged with the key (as runc reads config.json).
func TestNameIsAsEncodingJSON(t *testing.T) {
	type fields struct {
		Process   int `json:"process"`
		K         int `json:"k"`
		StateRoot int `json:"stateRoot"`
		Cpus      int `json:"cpus"`
	}
	names := []string{
		"process", "Process", "PROCESS", "pRoCeSs", `proce\u017fs`, "proce\u017fs", "PROCE\u017fS", `pro\u0063ess`,
		"processs", "proces", "pröcess", "proc ess", "process ", "", "k", "K", `\u212a`, "\u212a", "kk", "\u017f",
		"stateRoot", "stateroot", "STATEROOT", "state_root", "cpus", "CPUS", "cpu\u017f", `cpu\u017F`, `cpu\\s`,
		`p\rocess`, `\u0000process`, `proc\u00e9ss`, `process\u0000`, `PROCESS\u0000`,
	}
	for _, n := range names {
		for _, key := range []string{"process", "k", "stateRoot", "cpus"} {
			var f fields
			if err := json.Unmarshal([]byte(`{"`+n+`":1}`), &f); err != nil {
				t.Fatalf("%q: %v", n, err)
			}
			want := map[string]int{"process": f.Process, "k": f.K, "stateRoot": f.StateRoot, "cpus": f.Cpus}[key] == 1
			if got := NameIs([]byte(`"`+n+`"`), key); got != want {
				t.Errorf("NameIs(%q, %q) = %v, encoding/json says %v", n, key, got, want)
			}
		}
	}
	// Invalid UTF-8 folds to nothing.
	if NameIs([]byte("\"proce\xc5s\""), "process") || NameIs([]byte("\"\xffk\""), "k") {
		t.Error("NameIs matched invalid UTF-8")
	}
}

// FuzzNameIs: NameIs and encoding/json agree on every member name, as
// written raw or escaped. make fuzz runs it longer.
func FuzzNameIs(f *testing.F) {
	for _, n := range []string{"process", "PROCESS", "proce\u017fs", "\u212a", `pro\u0063ess`, "proc\xffess"} {
		f.Add(n, true)
		f.Add(n, false)
	}
	f.Fuzz(func(t *testing.T, name string, escape bool) {
		quoted := `"` + name + `"`
		if escape || !json.Valid([]byte(quoted)) {
			b, _ := json.Marshal(name) // escapes everything that needs it
			quoted = string(b)
		}
		var f struct {
			Process int `json:"process"`
			K       int `json:"k"`
			Cpus    int `json:"cpus"`
		}
		if err := json.Unmarshal([]byte(`{`+quoted+`:1}`), &f); err != nil {
			return
		}
		for key, set := range map[string]bool{"process": f.Process == 1, "k": f.K == 1, "cpus": f.Cpus == 1} {
			if got := NameIs([]byte(quoted), key); got != set {
				t.Fatalf("NameIs(%s, %q) = %v, encoding/json says %v", quoted, key, got, set)
			}
		}
	})
}

// CheckMembers finds what EachMember finds, and refuses what Check refuses.
func TestCheckMembers(t *testing.T) {
	obj := []byte(` { "a" : [1,{"b":"}"}] , "b":"x\"y", "\u0063":{"d":[]}, "a":null } `)
	keys := []string{"a", "b", "c", "d"}
	got, want := make([][]byte, 4), make([][]byte, 4)
	if err := CheckMembers(obj, keys, got); err != nil {
		t.Fatal(err)
	}
	EachMember(obj, pick(keys, want))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckMembers %q, EachMember %q", got, want)
	}
	for doc, wantErr := range map[string]error{`[1]`: ErrNotObject, `null`: ErrNotObject, `{"a":[1,,2]}`: ErrSyntax, `{"a":1}x`: ErrSyntax} {
		if err := CheckMembers([]byte(doc), keys, make([][]byte, 4)); !errors.Is(err, wantErr) {
			t.Errorf("CheckMembers(%s) = %v, want %v", doc, err, wantErr)
		}
	}
}
