# Sourced by both test beds' guest runners: /init of the arm64 VM (scripts/vm/init.sh) and the
# systemd bed's bed/run.sh, which share one line protocol (test/vm/serial.go parses it).
# up: the guest's uptime in seconds, as /proc/uptime has it.
up() { cut -d' ' -f1 /proc/uptime; }

# run_case CASE DIR: runs the case script CASE with sh in DIR, stdin /dev/null, under
# `timeout -s KILL` (its "# vm-timeout: SECS" line, else 60 s), and prints its block:
#   @@RUN NAME timeout=T, @@STDOUT NAME, its stdout, @@STDERR NAME, its stderr,
#   @@END NAME rc=N secs=S
# It leaves the case's exit status in rc.
run_case() {
  name=$(basename "$1" .sh)
  t=$(sed -n 's/^# *vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
  t=${t:-60}
  echo "@@RUN $name timeout=$t"
  start=$(up)
  (cd "$2" && exec timeout -s KILL "$t" sh "$1") </dev/null >/tmp/.case.out 2>/tmp/.case.err
  rc=$?
  end=$(up)
  echo "@@STDOUT $name"
  # awk, not cat: a last line without its newline still ends before the marker.
  awk '{ print }' /tmp/.case.out
  echo "@@STDERR $name"
  awk '{ print }' /tmp/.case.err
  echo "@@END $name rc=$rc secs=$(awk "BEGIN { printf \"%.2f\", $end - $start }")"
  rm -f /tmp/.case.out /tmp/.case.err
}
