# vm-timeout: 60
# dpkg -i of the package make package built: the files in place, nothing registered or enabled.
. /bed/cases/_lib.sh
dpkg -i /bed/armhf-shim_*_amd64.deb
dpkg -L armhf-shim | grep -E '^/usr/(bin|lib/systemd)/' | sort
systemctl list-unit-files 'armhf*' --no-legend
ls /etc/armhf-shim /var/lib/armhf-shim 2>&1 || true
