# arm64 VM test bed (test/vm, scripts/vm). Included by the top-level Makefile.
#   make vm-assets   fetch/build the cached kernel + base initramfs (.cache/vm)
#   make e2e-arm64   boot Debian's arm64 kernel under qemu-system-aarch64 once
#                    per CPU model (cortex-a72, neoverse-n1, a64fx) and run
#                    test/vm/cases/*.sh in it; logs in .cache/vm/logs/<model>/
# Knobs (environment): ARMHF_SHIM_VM_CPUS=cortex-a72,a64fx  ARMHF_SHIM_VM_PARALLEL=2
#                      ARMHF_SHIM_VM_TIMEOUT=600 (seconds per boot, the default)
GO ?= go

.PHONY: vm-assets e2e-arm64

vm-assets: deps
	bash scripts/vm/assets.sh >/dev/null

e2e-arm64: vm-assets engines
	ARMHF_SHIM_REQUIRE=1 $(GO) test -count=1 -v -timeout 25m ./test/vm/
