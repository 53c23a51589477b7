# OCI runtime wrapper, hook and install (shim/). Included by the top-level Makefile.
#   make test-shim       unit + host integration tests of shim/ (real runc and dockerd; needs root)
#   make bench-runtime   `runc run` of a trivial container: bare runc vs the floor (test/bench/floor, a
#                        static Go exec-only program) vs armhf-shim, for a 32-bit container (modified),
#                        a 64-bit one (passthrough) and `--version`, alternating in one run; prints ratios
#                        of medians and lower quartiles (no time is asserted)
# Knobs (environment): ARMHF_SHIM_BENCH_ROUNDS=30 ARMHF_SHIM_BENCH_WARMUP=3
#                      ARMHF_SHIM_BENCH_OUT=path.md (also write the table there)
GO ?= go

.PHONY: test-shim bench-runtime

test-shim: deps
	ARMHF_SHIM_REQUIRE=1 $(GO) test -count=1 -timeout 15m ./shim/...

bench-runtime: deps
	ARMHF_SHIM_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run TestBenchRuntime ./test/bench/runtimebench/
