# vm-timeout: 120
# The cpuinfo-at-boot unit and the seccomp agent's socket unit as the docs enable them
# (docs/docker.md, docs/uname.md), then a reboot: the next case checks them on the new boot.
. /bed/cases/_lib.sh
armhf-shim install docker-cli; echo "install docker-cli rc=$?"
systemctl enable armhf-shim-cpuinfo.service
armhf-shim install seccomp-agent; echo "install seccomp-agent rc=$?"
systemctl daemon-reload
systemctl enable --now armhf-shim-seccomp-agent.socket
show armhf-shim-cpuinfo.service armhf-shim-seccomp-agent.socket armhf-shim-seccomp-agent.service
exit 100
