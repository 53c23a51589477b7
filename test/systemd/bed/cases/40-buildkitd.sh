# vm-timeout: 240
# A standalone buildkitd as docs/buildkit.md has an operator run it: the upstream binaries in
# /usr/local/bin (where armhf-buildkitd.service expects buildkitd), setup again (it now finds
# buildkitd and edits /etc/buildkit/buildkitd.toml), the socket unit enabled; the first buildctl
# call starts the service; a linux/386 build's RUN sees i686.
. /bed/cases/_lib.sh
install -m 0755 /bed/buildkitd /bed/buildctl /usr/local/bin/
echo "== setup"; armhf-shim setup; echo "setup rc=$?"
systemctl daemon-reload
systemctl enable --now armhf-buildkitd.socket
echo "== before"; show armhf-buildkitd.socket armhf-buildkitd.service
echo "== workers"; buildctl --addr unix:///run/armhf-buildkit/buildkitd.sock debug workers
echo "== after"; show armhf-buildkitd.service
ls -l /run/armhf-buildkit/buildkitd.sock
echo "== doctor"; armhf-shim doctor; echo "doctor rc=$?"
echo "== build"
ctx=$(i386_context)
buildctl --addr unix:///run/armhf-buildkit/buildkitd.sock build --frontend dockerfile.v0 \
  --local context="$ctx" --local dockerfile="$ctx" --opt platform=linux/386 \
  --output type=local,dest="$ctx/result" --progress plain 2>"$ctx/log" || { tail -n 30 "$ctx/log"; exit 1; }
sed 's/^/result: /' "$ctx/result/out/uname"
