# vm-timeout: 180
# armhf-shim setup --restart as an operator runs it: docker and containerd really restarted and
# reading the change, then doctor.
. /bed/cases/_lib.sh
echo "== before"; show docker.service containerd.service
echo "== setup"; armhf-shim setup --restart; echo "setup rc=$?"
echo "== after"; show docker.service containerd.service
echo "== docker info"; docker info --format 'default={{.DefaultRuntime}} runtimes={{range $k, $v := .Runtimes}}{{$k}},{{end}}'
echo "== containerd config dump"; containerd config dump | grep -n -i armhf
echo "== doctor"; armhf-shim doctor; echo "doctor rc=$?"
echo "== state"; cat /var/lib/armhf-shim/setup.json
