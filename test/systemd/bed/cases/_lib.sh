# Helpers of the systemd bed's cases (sourced).
set -u
# show UNIT...: the properties the host's checks read, one KEY=VALUE a line, prefixed with the unit.
show() {
  for u in "$@"; do
    systemctl show -p MainPID -p ActiveState -p SubState -p Result -p ActiveEnterTimestampMonotonic -p UnitFileState "$u" | sed "s/^/$u /"
  done
}
# waitfor SECS CMD...: CMD until it succeeds, at most SECS seconds.
waitfor() {
  n=$1; shift
  while ! "$@" >/dev/null 2>&1; do
    n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 1
  done
}
