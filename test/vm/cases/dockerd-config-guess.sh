# vm-timeout: 120
# GNU config.guess (Debian's autotools-dev, baked into the armhf image) run
# by busybox sh in the armhf container. Output: the triplet.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk docker run --rm busybox-armhf:latest sh /usr/share/misc/config.guess
