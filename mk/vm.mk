# arm64 VM test bed (owner: test/vm, scripts/vm). Included by the top-level
# Makefile (include mk/*.mk).
#   make vm-assets   fetch/build the cached kernel + base initramfs (.cache/vm)
#   make e2e-arm64   boot Debian's arm64 kernel under qemu-system-aarch64 for
#                    each CPU model and run test/vm/cases/*.sh in it
# Knobs (environment): ARMHF_SHIM_VM_CPUS=cortex-a72,a64fx  ARMHF_SHIM_VM_PARALLEL=2
#                      ARMHF_SHIM_VM_TIMEOUT=120 (seconds per boot)
GO ?= go

.PHONY: vm-assets e2e-arm64

vm-assets:
	bash scripts/vm/assets.sh

e2e-arm64: vm-assets
	ARMHF_SHIM_REQUIRE=1 $(GO) test -count=1 -v -timeout 15m ./test/vm/
