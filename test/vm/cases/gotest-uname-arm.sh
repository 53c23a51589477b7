# vm-timeout: 180
# The ./uname tests cross-built with GOARCH=arm (go test -c), run on the
# real arm64 kernel from the package directory (testdata is copied along).
. /cases/_lib.sh
need /src/uname/uname.arm.test
cd /src/uname || exit 1
exec ./uname.arm.test -test.v -test.count=1 -test.timeout=150s
