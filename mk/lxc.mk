# 32-bit LXC build hosts (owner: lxc/, cmd/armhf-lxc). Included by the
# top-level Makefile (-include mk/*.mk); bin/armhf-lxc is built there.
#   make lxc-test    the lxc and armhf-lxc tests, verbose (root; real LXC,
#                    busybox-static:i386 containers, dockerd inside)
#   make lxc-vet     go vet of the cgo packages (needs lxc-dev headers)
# armhf-lxc is cgo (go-lxc links liblxc): it is built with CGO_ENABLED=1
# and is not part of the static-binary check, which covers armhf-shim.
GO ?= go

.PHONY: lxc-test lxc-vet

lxc-test:
	bash scripts/install-deps.sh
	ARMHF_SHIM_REQUIRE=1 CGO_ENABLED=1 $(GO) test -count=1 -v -timeout 10m ./lxc/ ./cmd/armhf-lxc/

lxc-vet:
	CGO_ENABLED=1 $(GO) vet ./lxc/ ./cmd/armhf-lxc/
	CGO_ENABLED=0 $(GO) vet ./lxc/ ./cmd/armhf-lxc/
