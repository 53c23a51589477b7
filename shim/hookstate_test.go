package shim

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ParseHookState decodes the OCI state as encoding/json does into
// specs.State, for the states runtimes write and for damaged ones.
func TestParseHookStateMatchesJSON(t *testing.T) {
	for _, c := range []string{
		`{"ociVersion":"1.0.2","id":"c1","status":"created","pid":4242,"bundle":"/run/b","annotations":{"a":"b"}}`,
		`{"ociVersion":"1.2.0","id":"c1","status":"stopped","bundle":"/b","annotations":null,"newField":[1,{"x":2}]}`,
		`{"id":"c\u0031","pid":0,"bundle":"/b"}`, `{"id":"c1","pid":null}`, `{}`, `null`,
		`{"id":1}`, `{"id":"c1","pid":"12"}`, `{"id":"c1","pid":1.5}`, `{"id":"c1","annotations":{"a":1}}`,
		`{"id":"c1"`, `[]`, `{"id":"c1"} x`,
	} {
		var want specs.State
		werr := json.Unmarshal([]byte(c), &want)
		got, gerr := ParseHookState([]byte(c))
		if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHookState(%q) = %+v, %v; encoding/json %+v, %v", c, got, gerr, want, werr)
		}
	}
}
