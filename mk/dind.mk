# docker CLI wrapper (dockercli/) and 32-bit dockerd (dind/). Included by the top-level Makefile.
#   make bench-docker   the wrapper's added time over the real docker and over the floor (a static Go
#                       program that only execs docker), alternating A/B/C in one run; ratios of medians.
#                       Knobs: ARMHF_SHIM_BENCH_ROUNDS=40 ARMHF_SHIM_BENCH_NOOP_ROUNDS=1000 ARMHF_SHIM_BENCH_WARMUP=3
#                       ARMHF_SHIM_BENCH_OUT=file
#   make fuzz-docker    fuzz the docker argv rewriter for FUZZTIME (part of make fuzz)
#   make test-dind      the dockercli/ and dind/ packages alone (wrapper, rootfs, daemon manager), prerequisites required
GO ?= go
FUZZTIME ?= 2m

.PHONY: bench-docker fuzz-docker test-dind

bench-docker: deps
	ARMHF_SHIM_BENCH=1 $(GO) test -count=1 -v -run '^TestBenchDocker$$' -timeout 30m ./test/bench/dockerbench/

fuzz-docker:
	$(GO) test -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime $(FUZZTIME) ./dockercli/dockerargs/

fuzz: fuzz-docker

test-dind: deps
	ARMHF_SHIM_REQUIRE=1 $(GO) test -count=1 -timeout 20m ./dockercli/... ./dind/...
