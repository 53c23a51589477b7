# vm-timeout: 120
# An i386 image (the stand-in for armhf on x86_64, built on the host: no registry) through the
# docker that setup configured: with --runtime armhf (setup makes it no default, docs/fleet.md)
# i686 and an armv7 cpuinfo; docker build through dockerd's embedded BuildKit, whose RUN finds the
# runc link of the drop-in setup wrote and systemd applied.
. /bed/cases/_lib.sh
docker load -i /bed/images/i386.tar
docker run --rm --runtime armhf bed/busybox:386 sh -c 'echo "uname=$(uname -m)"; grep -m1 "CPU architecture" /proc/cpuinfo'
echo "== docker build"
ctx=$(mktemp -d)
cp /bed/busybox-i386 "$ctx/busybox"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m >/uname && /bin/busybox grep -m1 'CPU architecture' /proc/cpuinfo >>/uname"]
DF
DOCKER_BUILDKIT=1 docker build --platform linux/386 -t bed/build:386 "$ctx" 2>"$ctx/log" >/dev/null || { tail -n 30 "$ctx/log"; exit 1; }
docker run --rm bed/build:386 /bin/busybox cat /uname | sed 's/^/build: /'
docker image inspect --format 'build image: {{.Os}}/{{.Architecture}}' bed/build:386
