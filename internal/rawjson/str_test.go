package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var stringCases = []string{
	`""`, `"plain"`, `null`, ` "spaced" `, `"quote\" back\\ slash\/"`, `"\b\f\n\r\t"`, `"\u00e9\u00E9"`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\u0000"`,
	"\"\xff\xfe\"", "\"\xc3\"", "\"é😀\"", "\"\xed\xa0\x80\"",
	`"\a"`, `"\u00g9"`, `"\u00e"`, "\"\x01\"", "\"\t\"", `"a`, `"`, `"a"b"`, `"\"`,
	`1`, `true`, `{}`, `[]`, `nul`, ``,
}

// String decodes what encoding/json decodes into a Go string, to the same
// result, and refuses what it refuses.
func TestString(t *testing.T) {
	for _, c := range stringCases {
		checkString(t, []byte(c))
	}
}

func checkString(t *testing.T, raw []byte) {
	t.Helper()
	var want string
	werr := json.Unmarshal(raw, &want)
	got, gerr := String(raw)
	if (werr == nil) != (gerr == nil) || got != want && werr == nil {
		t.Fatalf("String(%q) = %q, %v; encoding/json %q, %v", raw, got, gerr, want, werr)
	}
}

// FuzzString: String and encoding/json agree on any raw value.
func FuzzString(f *testing.F) {
	for _, c := range stringCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkString(t, raw) })
}

// FuzzAppendString: AppendString writes what encoding/json writes with
// HTML escaping off, and String reads it back.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t cr\r", "\x00\x01\x1f\x7f", "\u2028\u2029", "é😀", "\xff\xfe", "<&>", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		got := AppendString(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
		checkString(t, got)
	})
}

// Strings decodes like encoding/json into []string, nulls included.
func TestStringsAndMap(t *testing.T) {
	for _, c := range []string{`null`, `[]`, `["a","b"]`, `["a",null,"c"]`, ` [ "\u0041" , "x" ] `, `[1]`, `["a",]`, `{}`, `"s"`} {
		var want []string
		werr := json.Unmarshal([]byte(c), &want)
		got, gerr := Strings([]byte(c))
		if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("Strings(%q) = %#v, %v; encoding/json %#v, %v", c, got, gerr, want, werr)
		}
	}
	var te *TypeError
	if _, err := Strings([]byte(`{"a":1}`)); !errors.As(err, &te) || te.Error() != "expected an array, found an object" {
		t.Errorf("Strings of an object: %v", err)
	}
}
