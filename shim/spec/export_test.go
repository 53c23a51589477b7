package spec

// HasRepeatedName is hasRepeatedName for the external tests.
var HasRepeatedName = hasRepeatedName
