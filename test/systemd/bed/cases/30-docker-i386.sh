# vm-timeout: 120
# An i386 image (the stand-in for armhf on x86_64, built on the host: no registry) through the
# docker that setup configured: with --runtime armhf (setup makes it no default, docs/fleet.md)
# i686 and an armv7 cpuinfo; docker build through dockerd's embedded BuildKit, whose RUN finds the
# runc link of the drop-in setup wrote and systemd applied.
. /bed/cases/_lib.sh
docker load -i /bed/images/i386.tar
docker run --rm --runtime armhf bed/busybox:386 sh -c 'echo "uname=$(uname -m)"; grep -m1 "CPU architecture" /proc/cpuinfo'
echo "== docker build"
ctx=$(i386_context)
DOCKER_BUILDKIT=1 docker build --platform linux/386 -t bed/build:386 "$ctx" 2>"$ctx/log" >/dev/null || { tail -n 30 "$ctx/log"; exit 1; }
docker run --rm bed/build:386 /bin/busybox cat /out/uname | sed 's/^/build: /'
docker image inspect --format 'build image: {{.Os}}/{{.Architecture}}' bed/build:386
