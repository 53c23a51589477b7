# armhf-shim — build and test.
#
#   make build        bin/armhf-shim, bin/armhf-runc and bin/armhf-docker (static) and bin/armhf-lxc (cgo, go-lxc)
#   make test         THE test command: installs what it needs (apt, as root; the engines of
#                     scripts/engines.versions from the Go module proxy), then vet, static-binary check,
#                     unit + host integration tests (real runc, containerd, dockerd, BuildKit, LXC), the
#                     arm64 VM suite and the systemd test bed (a Debian guest booting systemd: test/systemd)
#   make bench        benchmarks (not part of make test), headline first; writes docs/PERFORMANCE.md
#   make fuzz         longer fuzzing runs (not part of make test)
#   make package      .deb and .rpm for amd64 and arm64 in dist/ (mk/package.mk)

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# urfave_cli_no_docs drops urfave/cli's man-page generator (blackfriday), whose package init alone
# costs ~0.5 ms on every runtime/docker call. Keep in sync with internal/testenv.BuildFlags.
TAGS     := urfave_cli_no_docs
# Under make test a missing prerequisite fails instead of skipping.
TEST_ENV := ARMHF_SHIM_REQUIRE=1
GOTEST_TIMEOUT ?= 20m

.PHONY: all build test deps engines vet static unit clean bench bench-build bench-micro fuzz

all: build

build: bin/armhf-shim bin/armhf-runc bin/armhf-docker bin/armhf-lxc

# Each binary is linked to a temporary file and then installed (write(2)) as a package would be: the Go
# linker writes through a shared mapping, and a file written that way starts measurably slower on a recent
# kernel (small page-cache folios; docs/PERFORMANCE.md).
bin/armhf-shim: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $@.link ./cmd/armhf-shim
	install -m 0755 $@.link $@ && rm -f $@.link

# The runtime wrapper and hook alone: the lean binary `install` registers (it starts about as fast as a
# program that only execs; see docs/PERFORMANCE.md).
bin/armhf-runc: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@.link ./cmd/armhf-runc
	install -m 0755 $@.link $@ && rm -f $@.link

# The docker CLI wrapper alone, lean for the same reason: installed as docker, it runs before every
# docker command.
bin/armhf-docker: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@.link ./cmd/armhf-docker
	install -m 0755 $@.link $@ && rm -f $@.link

# cgo against liblxc: needs Debian's lxc-dev. Building installs nothing: deps (make test's) would add foreign
# architectures and the whole test toolchain (podman, QEMU, cross compilers) to a build host.
bin/armhf-lxc: FORCE
	@printf '#include <lxc/lxccontainer.h>\n' | $${CC:-gcc} -E -o /dev/null - 2>/dev/null || \
	  { echo "bin/armhf-lxc: no liblxc headers (lxc/lxccontainer.h): armhf-lxc links liblxc; apt-get install lxc-dev, then run make again" >&2; exit 1; }
	CGO_ENABLED=1 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $@.link ./cmd/armhf-lxc
	install -m 0755 $@.link $@ && rm -f $@.link

FORCE:

deps:
	bash scripts/install-deps.sh

# vet also checks the decision floor (a build tag go vet ./... skips) and that no product package
# links testing from a non-test file (scripts/check-imports.sh).
vet: deps
	$(GO) vet ./...
	$(GO) vet -tags armhf_decisionfloor ./test/bench/floor/
	cd tools && $(GO) vet ./...
	bash scripts/check-imports.sh
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# armhf-shim is bind-mounted and exec'd in many places: it must be static for both architectures.
static: deps
	bash scripts/check-static.sh

UNIT_PKGS = $$($(GO) list ./... | grep -v -e '/test/vm' -e '/test/systemd')

# The engines of scripts/engines.versions the suites use (the host's, and crictl for the arm64 VM), built
# before them: a cold build takes minutes, which would otherwise be charged to the timeout of whichever test
# package asks first. Cached in .cache/engines, so a warm run only checks the stamps.
engines: deps
	bash scripts/engines.sh >/dev/null
	GOARCH=arm64 bash scripts/engines.sh crictl buildkit >/dev/null

unit: deps engines
	$(TEST_ENV) $(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) $(UNIT_PKGS)
	cd tools && $(TEST_ENV) $(GO) test -count=1 ./...

test: deps vet static unit manifests e2e-arm64 e2e-systemd
	@echo "make test: all suites passed"

# make bench: a three-line headline (a real 32-bit build of Debian's zlib in a 32-bit chroot through
# armhf-shim exec, without it and under QEMU; docker run through the registered runtime vs runc; the runtime
# wrapper's own cost per call), then every side-by-side comparison (native vs emulation, runtime wrapper, docker
# wrappers, scale) in one table, plus the Go micro-benchmarks. Writes docs/PERFORMANCE.md. Not part of make
# test. The first run debootstraps the chroot and fetches the source into .cache/bench/ (apt, as root).
BENCH_WRITE ?= 1
bench: deps
	$(TEST_ENV) ARMHF_SHIM_BENCH=1 ARMHF_SHIM_BENCH_WRITE=$(BENCH_WRITE) $(GO) test -count=1 -v -timeout 90m ./test/bench/

# The headline's build alone (knobs: ARMHF_SHIM_BENCH_BUILD_ROUNDS=6 ARMHF_SHIM_BENCH_BUILD_QEMU_ROUNDS=2).
bench-build: deps
	$(TEST_ENV) ARMHF_SHIM_BENCH=1 $(GO) test -count=1 -v -timeout 60m -run '^TestBuild$$' ./test/bench/

# Go micro-benchmarks alone (go test -bench, -benchmem).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v -e /test/vm -e /test/bench)

# Longer fuzzing (each target FUZZTIME, default 2m). make test runs the seed corpora only.
FUZZTIME ?= 2m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./cpuinfo/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCPUSet$$' -fuzztime $(FUZZTIME) ./cpuinfo/
	$(GO) test -run '^$$' -fuzz '^FuzzScanView$$' -fuzztime $(FUZZTIME) ./shim/spec/
	$(GO) test -run '^$$' -fuzz '^FuzzEdit$$' -fuzztime $(FUZZTIME) ./shim/spec/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./shim/runcargs/
	$(GO) test -run '^$$' -fuzz '^FuzzValid$$' -fuzztime $(FUZZTIME) ./internal/rawjson/
	$(GO) test -run '^$$' -fuzz '^FuzzString$$' -fuzztime $(FUZZTIME) ./internal/rawjson/
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./internal/rawjson/
	$(GO) test -run '^$$' -fuzz '^FuzzNameIs$$' -fuzztime $(FUZZTIME) ./internal/rawjson/
	$(GO) test -run '^$$' -fuzz '^FuzzAgreesWithContainerd$$' -fuzztime $(FUZZTIME) ./internal/platform/
	$(GO) test -run '^$$' -fuzz '^FuzzBuildkitdInstallUninstall$$' -fuzztime $(FUZZTIME) ./shim/install/

clean:
	rm -rf bin

-include mk/*.mk
