package rawjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
)

// fixture is the config.json Docker 20.10 wrote.
func fixture(t testing.TB) []byte { return testenv.DockerConfig(t) }

var validCases = []string{
	``, ` `, `{}`, `[]`, ` {} `, "\t[ ]\r\n", `{`, `}`, `[`, `]`, `{]`, `[}`, `{}}`, `[]]`, `{} {}`, `{},`,
	`null`, `nul`, `nulll`, `true`, `tru`, `false`, `falsey`, `NULL`, `True`,
	`0`, `-0`, `01`, `-01`, `1.`, `1.5`, `.5`, `-`, `-a`, `1e`, `1e+`, `1e-5`, `1E5`, `1.5e+10`, `1.e5`, `+1`, `0x1`, `1 2`,
	`""`, `"a"`, `"`, `"a`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, `"\u"`,
	"\"\x01\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"\t\"", `"\ud83d\ude00"`, `"\ud83d"`,
	`{"a":1}`, `{"a" : 1 }`, `{"a":}`, `{"a"}`, `{a:1}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a":1,"b":[1,2,{"c":null}]}`,
	`[1,2,3]`, `[1,,2]`, `[,1]`, `[1,]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[{}]`, `[{]}`, `{"a":[}`, `{"a":{"b":{}}}`,
	`{"a":1}x`, `[1]x`, `"a"x`, `truex`, `1x`, "{\"a\":1}\x00",
}

// Valid agrees with encoding/json.Valid, case by case.
func TestValid(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, json.Valid says %v", c, got, want)
		}
	}
	if !Valid(fixture(t)) {
		t.Error("the Docker fixture config is not valid")
	}
}

// The nesting limit is encoding/json's: 10000 levels pass, 10001 fail.
func TestValidDepth(t *testing.T) {
	for _, n := range []int{63, 64, 65, 10000, 10001} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			doc := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(close, n))
			if got, want := Valid(doc), json.Valid(doc); got != want {
				t.Errorf("%d levels of %s: Valid %v, json.Valid %v", n, open, got, want)
			}
		}
	}
}

// FuzzValid: Valid and encoding/json.Valid agree on every input, and
// CheckObject reports the members EachMember finds. make fuzz runs it
// longer.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Add(fixture(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", data, got, want)
		}
		// CheckObject's members are EachMember's.
		var got, want []string
		if CheckObject(data, func(n, v []byte) { got = append(got, string(n)+"="+string(v)) }) == nil {
			if err := EachMember(data, func(n, v []byte) { want = append(want, string(n)+"="+string(v)) }); err != nil {
				t.Fatalf("CheckObject accepts %q, EachMember: %v", data, err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%q: CheckObject members %q, EachMember %q", data, got, want)
			}
		}
	})
}

func BenchmarkValid(b *testing.B) {
	data := fixture(b)
	b.SetBytes(int64(len(data)))
	b.Run("rawjson.Valid", func(b *testing.B) {
		for b.Loop() {
			Valid(data)
		}
	})
	b.Run("encoding/json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(data)
		}
	})
}

// Check says where a document stops being JSON.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		in string
		at int // -1: valid
	}{
		{`{"a":1}`, -1}, {``, 0}, {` `, 1}, {`{"a":1 "b":2}`, 7}, {`[1,,2]`, 3}, {`{"a":1}x`, 7},
		{`{"a":tru}`, 5}, {`{"a":"x`, 5}, {`{"a":1`, 6}, {`{a:1}`, 1}, {"[\"\x01\"]", 1},
	} {
		err := Check([]byte(c.in))
		if c.at < 0 {
			if err != nil {
				t.Errorf("Check(%q) = %v", c.in, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != c.at || !errors.Is(err, ErrSyntax) {
			t.Errorf("Check(%q) = %v, want a syntax error at byte %d", c.in, err, c.at)
			continue
		}
		if !strings.Contains(err.Error(), "not valid JSON") || !strings.Contains(err.Error(), "byte") && c.at < len(c.in) {
			t.Errorf("Check(%q): message %q", c.in, err)
		}
	}
}

// CheckObject validates as Check does and reports the members EachMember
// finds, in one pass.
func TestCheckObject(t *testing.T) {
	docs := append([]string{
		string(fixture(t)), `{"a":{"b":{"c":[1,{}]}},"d":[],"e":{},"f":"x","g":-1.5e3,"h":null}`,
		` { "a" : 1 , "a" : [ 2 ] } `, `{"\u0061\"":true}`, `[{"a":1}]`,
	}, validCases...)
	for _, doc := range docs {
		var got, want []string
		gerr := CheckObject([]byte(doc), func(n, v []byte) { got = append(got, string(n)+"="+string(v)) })
		werr := Check([]byte(doc))
		isObj := werr == nil && strings.HasPrefix(strings.TrimSpace(doc), "{")
		if werr == nil && !isObj {
			werr = ErrNotObject
		}
		if (gerr == nil) != (werr == nil) || gerr != nil && !errors.Is(gerr, ErrNotObject) && gerr.Error() != werr.Error() {
			t.Errorf("CheckObject(%.60q) = %v, want %v", doc, gerr, werr)
			continue
		}
		if gerr != nil {
			continue
		}
		EachMember([]byte(doc), func(n, v []byte) { want = append(want, string(n)+"="+string(v)) })
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("CheckObject(%.60q) members %q, EachMember %q", doc, got, want)
		}
	}
}

func TestMemberString(t *testing.T) {
	for raw, want := range map[string]string{`"a\nb"`: "a\nb", `null`: "", ` "x" `: "x"} {
		if got, err := MemberString([]byte(raw)); err != nil || got != want {
			t.Errorf("MemberString(%s) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if got, err := MemberString(nil); err != nil || got != "" {
		t.Errorf("MemberString(nil) = %q, %v; want \"\" (absent)", got, err)
	}
	if _, err := MemberString([]byte(`3`)); err == nil {
		t.Error("MemberString(3): no error")
	}
}
