# make package: .deb and .rpm of armhf-shim for amd64 and arm64 in dist/ (nfpm, pinned in tools/go.mod),
# and armhf-shim-lxc for this machine's arch when liblxc's headers are here (make deps installs them).
#
# The packages hold the static binaries in /usr/bin, the units of deploy/systemd/ (their /usr/local/bin
# paths made /usr/bin), README.md and docs/ in /usr/share/doc/armhf-shim, and bash/zsh/fish completions.
# Installing one registers nothing (no maintainer scripts): `armhf-shim setup` does. Versions come from
# git describe (tools/package/version.go says how an untagged tree gets a valid one).

PKG_ARCHES   ?= amd64 arm64
PKG_DIR      ?= dist
PKG_BIN      := bin/pkg
PKG_DESCRIBE := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKG_COMMITS  := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
HOST_ARCH    := $(shell $(GO) env GOARCH)
# Reproducible file times: the commit's.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: package package-bins

package-bins:
	@set -e; for a in $(PKG_ARCHES); do \
	  d=$(PKG_BIN)/linux_$$a; mkdir -p $$d; \
	  echo "building static binaries for $$a"; \
	  CGO_ENABLED=0 GOARCH=$$a $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $$d/armhf-shim ./cmd/armhf-shim; \
	  CGO_ENABLED=0 GOARCH=$$a $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$d/armhf-runc ./cmd/armhf-runc; \
	  CGO_ENABLED=0 GOARCH=$$a $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$d/armhf-docker ./cmd/armhf-docker; \
	done
	@rm -f $(PKG_BIN)/linux_*/armhf-lxc
	@if pkg-config --exists lxc 2>/dev/null; then \
	  echo "building armhf-lxc for $(HOST_ARCH) (cgo, liblxc)"; \
	  CGO_ENABLED=1 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(PKG_BIN)/linux_$(HOST_ARCH)/armhf-lxc ./cmd/armhf-lxc; \
	else echo "no liblxc headers (apt-get install lxc-dev): no armhf-shim-lxc package"; fi
	@mkdir -p $(PKG_BIN)/completions
	@for sh in bash zsh fish; do $(GO) run -tags $(TAGS) ./cmd/armhf-shim completion $$sh > $(PKG_BIN)/completions/$$sh; done

package: package-bins
	@mkdir -p $(PKG_DIR) && rm -f $(PKG_DIR)/*.deb $(PKG_DIR)/*.rpm
	cd tools && $(GO) run ./package -repo $(CURDIR) -bin $(abspath $(PKG_BIN)) -completions $(abspath $(PKG_BIN))/completions \
	  -version '$(PKG_DESCRIBE)' -commits $(PKG_COMMITS) -out $(abspath $(PKG_DIR)) -arch '$(PKG_ARCHES)'
