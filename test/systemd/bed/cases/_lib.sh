# Helpers of the systemd bed's cases (sourced).
set -u
# show UNIT...: the properties the host's checks read, one KEY=VALUE a line, prefixed with the unit.
show() {
  for u in "$@"; do
    systemctl show -p MainPID -p ActiveState -p SubState -p Result -p ActiveEnterTimestampMonotonic -p UnitFileState "$u" | sed "s/^/$u /"
  done
}
# i386_context: a new build context directory (printed) holding the i386 busybox and a Dockerfile
# FROM scratch whose RUN writes its `uname -m` and cpuinfo's "CPU architecture" line to /out/uname.
i386_context() {
  ctx=$(mktemp -d)
  cp /bed/busybox-i386 "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /out && /bin/busybox uname -m >/out/uname && /bin/busybox grep -m1 'CPU architecture' /proc/cpuinfo >>/out/uname"]
DF
  echo "$ctx"
}
