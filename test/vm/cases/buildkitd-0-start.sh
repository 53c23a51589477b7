# vm-timeout: 180
# Starts a standalone buildkitd:arm64 (moby/buildkit, cross-built by
# scripts/engines.sh) after `armhf-shim install buildkitd` edited the
# default /etc/buildkit/buildkitd.toml: its OCI worker runs the wrapper,
# which runs Debian's runc:arm64. No containerd runs yet, so the OCI worker
# is its only one. It stays up for the other buildkitd-* cases of this boot.
# Output: install's report, the config, "buildkitd ready after Ns", and
# "worker platforms: ..." as buildkitd detected them (on a CPU with AArch32
# its own probe finds linux/arm/v7 native).
. /cases/_lib.sh
. /cases/_disk.sh
need "$SHIM" /usr/local/bin/buildkitd /usr/local/bin/buildctl
disk_up
in_disk armhf-shim install buildkitd || exit 1
echo "buildkitd.toml:"
sed 's/^/  /' $D/etc/buildkit/buildkitd.toml
in_disk setsid buildkitd >/tmp/buildkitd.log 2>&1 </dev/null &
start_daemon buildkitd 120 /tmp/buildkitd.log in_disk buildctl debug workers
# "Platforms: linux/arm64,linux/arm/v7,..." in buildctl's verbose listing.
echo "worker platforms: $(in_disk buildctl debug workers -v | sed -n 's/^Platforms:[[:space:]]*//p' | head -1)"
