package spec

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The tests read an edited document back as runc will: with encoding/json.

// decoded is d as runc decodes it.
func decoded(d *Doc) (specs.Spec, error) {
	out, err := d.Marshal()
	if err != nil {
		return specs.Spec{}, err
	}
	var s specs.Spec
	if err := json.Unmarshal(out, &s); err != nil {
		return specs.Spec{}, fmt.Errorf("malformed OCI config: %w", err)
	}
	return s, nil
}

// Annotation returns annotations[key].
func (d *Doc) Annotation(key string) (string, bool, error) {
	s, err := decoded(d)
	v, ok := s.Annotations[key]
	return v, ok, err
}

// Mounts returns the mounts.
func (d *Doc) Mounts() ([]specs.Mount, error) {
	s, err := decoded(d)
	return s.Mounts, err
}

// PersonalityDomain returns linux.personality.domain ("" when unset).
func (d *Doc) PersonalityDomain() (string, error) {
	s, err := decoded(d)
	if err != nil || s.Linux == nil || s.Linux.Personality == nil {
		return "", err
	}
	return string(s.Linux.Personality.Domain), nil
}
