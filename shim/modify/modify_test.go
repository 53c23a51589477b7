package modify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/armhf-shim/armhf-shim/internal/testenv"
	"github.com/armhf-shim/armhf-shim/shim/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func fixture(t *testing.T) *spec.Doc {
	t.Helper()
	d, err := spec.Parse(testenv.DockerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func decode(t *testing.T, d *spec.Doc) specs.Spec {
	t.Helper()
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEachModifierAlone(t *testing.T) {
	base := decode(t, fixture(t))
	cases := []struct {
		mod   Modifier
		check func(t *testing.T, s specs.Spec)
	}{
		{CPUInfo("/run/armhf-shim/containers/c/cpuinfo"), func(t *testing.T, s specs.Spec) {
			if len(s.Mounts) != len(base.Mounts)+1 {
				t.Fatalf("%d mounts", len(s.Mounts))
			}
			m := s.Mounts[len(s.Mounts)-1]
			if m.Destination != "/proc/cpuinfo" || m.Type != "bind" || m.Source != "/run/armhf-shim/containers/c/cpuinfo" ||
				strings.Join(m.Options, ",") != "bind,ro,nosuid,nodev,noexec" {
				t.Errorf("mount %+v", m)
			}
			procAt, cpuAt := -1, -1
			for i, m := range s.Mounts {
				switch m.Destination {
				case "/proc":
					procAt = i
				case "/proc/cpuinfo":
					cpuAt = i
				}
			}
			if procAt < 0 || cpuAt < procAt {
				t.Errorf("cpuinfo mount (%d) not after /proc (%d)", cpuAt, procAt)
			}
			if s.Linux.Personality != nil || s.Annotations != nil {
				t.Error("CPUInfo changed more than the mounts")
			}
		}},
		{Personality(), func(t *testing.T, s specs.Spec) {
			if s.Linux.Personality == nil || s.Linux.Personality.Domain != specs.PerLinux32 {
				t.Errorf("personality %+v", s.Linux.Personality)
			}
			if len(s.Mounts) != len(base.Mounts) || s.Annotations != nil {
				t.Error("Personality changed more than linux.personality")
			}
		}},
		{Mark(), func(t *testing.T, s specs.Spec) {
			if s.Annotations[AnnotationMark] != MarkValue || len(s.Annotations) != 1 {
				t.Errorf("annotations %v", s.Annotations)
			}
			if len(s.Mounts) != len(base.Mounts) || s.Linux.Personality != nil {
				t.Error("Mark changed more than the annotations")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.mod.Name, func(t *testing.T) {
			d := fixture(t)
			if err := Apply(d, c.mod); err != nil {
				t.Fatal(err)
			}
			c.check(t, decode(t, d))
		})
	}
}

func TestFor32BitIsIdempotent(t *testing.T) {
	d := fixture(t)
	for i := 0; i < 2; i++ {
		if err := Apply(d, For32Bit("/src")...); err != nil {
			t.Fatal(err)
		}
	}
	s := decode(t, d)
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == CPUInfoTarget {
			n++
		}
	}
	if n != 1 || s.Linux.Personality.Domain != specs.PerLinux32 || s.Annotations[AnnotationMark] != MarkValue {
		t.Errorf("after applying twice: %d cpuinfo mounts, %+v, %v", n, s.Linux.Personality, s.Annotations)
	}
}

// The wrapper passes no source when the container's own mount at
// /proc/cpuinfo wins: the set then leaves the mounts alone.
func TestFor32BitWithoutSourceKeepsTheMounts(t *testing.T) {
	d := fixture(t)
	before := decode(t, d).Mounts
	if err := Apply(d, For32Bit("")...); err != nil {
		t.Fatal(err)
	}
	s := decode(t, d)
	if !reflect.DeepEqual(s.Mounts, before) || s.Linux.Personality.Domain != specs.PerLinux32 || s.Annotations[AnnotationMark] != MarkValue {
		t.Errorf("mounts %v (before %v), %+v, %v", s.Mounts, before, s.Linux.Personality, s.Annotations)
	}
}

func TestApplyNamesTheFailingModifier(t *testing.T) {
	d, _ := spec.Parse([]byte(`{"mounts": "nope"}`))
	err := Apply(d, For32Bit("/src")...)
	if err == nil || !strings.HasPrefix(err.Error(), "cpuinfo mount: ") {
		t.Errorf("err = %v", err)
	}
}

// runc reads config.json with encoding/json, which takes a member name in
// any case ("Mounts" is mounts) and decodes a repeated one into the same
// field (merging two objects, the last array winning): the edit must be
// the one runc reads, and nothing runc would read may be lost.
func TestFor32BitAsRuncReadsIt(t *testing.T) {
	for name, doc := range map[string]string{
		"names in another case": `{"Process":{"Args":["sh"]},"Mounts":[{"destination":"/proc","type":"proc","source":"proc"}],` +
			`"Linux":{"Seccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"Personality":{"Domain":"LINUX"}},"Annotations":{"a":"b","IO.ARMHF-SHIM.PERSONALITY":"x"}}`,
		"repeated names": `{"mounts":[{"destination":"/old"}],"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}},` +
			`"mounts":[{"destination":"/proc","type":"proc","source":"proc"}],"linux":{"personality":{"domain":"LINUX"}},` +
			`"annotations":{"a":"b"},"annotations":{"c":"d"}}`,
	} {
		d, err := spec.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := Apply(d, For32Bit("/run/armhf-shim/containers/c/cpuinfo")...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := decode(t, d)
		var dests []string
		for _, m := range s.Mounts {
			dests = append(dests, m.Destination)
		}
		if !reflect.DeepEqual(dests, []string{"/proc", CPUInfoTarget}) {
			t.Errorf("%s: runc mounts %v, want /proc then %s", name, dests, CPUInfoTarget)
		}
		if s.Linux == nil || s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != "SCMP_ACT_ERRNO" {
			t.Errorf("%s: runc lost the seccomp profile: %+v", name, s.Linux)
		}
		if s.Linux == nil || s.Linux.Personality == nil || s.Linux.Personality.Domain != specs.PerLinux32 {
			t.Errorf("%s: runc personality %+v", name, s.Linux)
		}
		// Annotations are a map: a key in another case is another key.
		if upper := strings.ToUpper(AnnotationMark); strings.Contains(doc, upper) && s.Annotations[upper] != "x" {
			t.Errorf("%s: the annotation %s changed: %v", name, upper, s.Annotations)
		}
		if s.Annotations[AnnotationMark] != MarkValue || s.Annotations["a"] != "b" {
			t.Errorf("%s: runc annotations %v", name, s.Annotations)
		}
	}
}
