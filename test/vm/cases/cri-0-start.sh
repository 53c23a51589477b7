# vm-timeout: 240
# containerd's CRI, Kubernetes' path: Debian's containerd:arm64 (1.6) with
# the runtime handler `armhf-shim install containerd` declares, on
# Debian's own config.toml. Imports the busybox images into the k8s.io
# namespace and tags the arm64 sleeper as the sandbox image (no registry).
# Output: the install's report, "containerd ready after Ns", the images.
. /cases/_lib.sh
. /cases/_disk.sh
need "$SHIM" /usr/local/bin/crictl
disk_up
# Debian's config.toml has a CRI section, which containerd 1.6 would let a
# drop-in replace whole: install must write the handler into it.
in_disk armhf-shim install containerd >/tmp/install.out 2>&1 || { cat /tmp/install.out; exit 1; }
cat /tmp/install.out
grep -q "written into the CRI section" /tmp/install.out ||
  { echo "install containerd did not write the handler into config.toml's CRI section" >&2; exit 1; }
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 60\n' \
  >$D/etc/crictl.yaml
in_disk setsid containerd >/tmp/containerd.log 2>&1 </dev/null &
start_daemon containerd 180 /tmp/containerd.log in_disk crictl info
sandbox=$(in_disk crictl info -o go-template --template '{{.config.sandboxImage}}')
echo "sandbox image: $sandbox"
for i in busybox-armhf busybox-arm64 pause-arm64; do
  in_disk ctr -n k8s.io images import --all-platforms /images/$i.tar >/dev/null || exit 1
done
in_disk ctr -n k8s.io images tag docker.io/library/pause:local "$sandbox" >/dev/null || exit 1
in_disk crictl images | awk 'NR > 1 { print $1 ":" $2 }'
