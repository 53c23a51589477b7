package rawjson

import (
	"errors"
	"reflect"
	"testing"
)

// Members finds each key's last value, exactly named, and skips
// everything else however it is nested.
func TestMembers(t *testing.T) {
	obj := []byte(` { "a" : [1,{"b":"}"}] , "b":"x\"y", "\u0063":{"d":[]}, "a":null } `)
	out := make([][]byte, 4)
	if err := Members(obj, []string{"a", "b", "c", "d"}, out); err != nil {
		t.Fatal(err)
	}
	want := []string{"null", `"x\"y"`, `{"d":[]}`, ""}
	for i, w := range want {
		if string(out[i]) != w {
			t.Errorf("member %d = %q, want %q", i, out[i], w)
		}
	}
	raw, at, err := MemberAt(obj, "b")
	if err != nil || string(obj[at:at+len(raw)]) != `"x\"y"` {
		t.Errorf("MemberAt = %q at %d, %v", raw, at, err)
	}
}

func TestScanErrors(t *testing.T) {
	for _, c := range []string{``, `[]`, `{`, `{"a"`, `{"a":}`, `{"a":[}`, `{"a":"x}`, `{"a":1 "b":2}`, `{a:1}`, `{}x`, `{"a":1}x`} {
		if _, err := Member([]byte(c), "b"); !errors.Is(err, ErrSyntax) {
			t.Errorf("Member(%q): %v", c, err)
		}
	}
	var got []string
	err := EachElement([]byte(`[1, "a", {"x":[2]} ,null]`), func(el []byte) error { got = append(got, string(el)); return nil })
	if err != nil || !reflect.DeepEqual(got, []string{"1", `"a"`, `{"x":[2]}`, "null"}) {
		t.Errorf("EachElement = %q, %v", got, err)
	}
	for _, c := range []string{`[1,]`, `[1 2]`, `[`, `{}`, `[1]x`} {
		if err := EachElement([]byte(c), func([]byte) error { return nil }); !errors.Is(err, ErrSyntax) {
			t.Errorf("EachElement(%q): %v", c, err)
		}
	}
}

func TestNames(t *testing.T) {
	if Name([]byte(`"plain"`)) != "plain" || Name([]byte(`"\u0041\n"`)) != "A\n" {
		t.Error("Name")
	}
	if !NameIs([]byte(`"pro\u0063ess"`), "process") || NameIs([]byte(`"Process"`), "process") {
		t.Error("NameIs")
	}
	if !IsNull(nil) || !IsNull([]byte(" null ")) || IsNull([]byte(`"null"`)) {
		t.Error("IsNull")
	}
}

// CheckMembers finds what Members finds, and refuses what Check refuses.
func TestCheckMembers(t *testing.T) {
	obj := []byte(` { "a" : [1,{"b":"}"}] , "b":"x\"y", "\u0063":{"d":[]}, "a":null } `)
	keys := []string{"a", "b", "c", "d"}
	got, want := make([][]byte, 4), make([][]byte, 4)
	if err := CheckMembers(obj, keys, got); err != nil {
		t.Fatal(err)
	}
	Members(obj, keys, want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckMembers %q, Members %q", got, want)
	}
	for doc, wantErr := range map[string]error{`[1]`: ErrNotObject, `null`: ErrNotObject, `{"a":[1,,2]}`: ErrSyntax, `{"a":1}x`: ErrSyntax} {
		if err := CheckMembers([]byte(doc), keys, make([][]byte, 4)); !errors.Is(err, wantErr) {
			t.Errorf("CheckMembers(%s) = %v, want %v", doc, err, wantErr)
		}
	}
}
