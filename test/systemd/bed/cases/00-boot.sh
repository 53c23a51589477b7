# vm-timeout: 120
# The guest as the packages left it: systemd is PID 1, Debian's docker.io and containerd are
# enabled and running.
. /bed/cases/_lib.sh
systemctl is-system-running --wait
systemctl --failed --no-legend
show docker.service containerd.service
docker version --format 'docker {{.Server.Version}}'
