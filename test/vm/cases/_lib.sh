# Helpers sourced by the case scripts (a name starting with "_" is not run
# as a case). The host test puts the project's binaries at these paths.
SHIM=/usr/local/bin/armhf-shim
PROBE=/usr/local/bin/platformprobe

# need FILE...: exit 127 with a clear message when a binary was not built.
need() {
  for f; do
    [ -x "$f" ] || { echo "NOT BUILT: $f is missing (the host failed to build it; see the test's build subtests)" >&2; exit 127; }
  done
}
