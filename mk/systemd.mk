# The systemd test bed (test/systemd, scripts/systemd). Included by the top-level Makefile.
#   make e2e-systemd   boot a Debian 12 amd64 guest with its own systemd under KVM (TCG without it) and
#                      run test/systemd/bed/cases/*.sh in it as an operator: dpkg -i of make package's
#                      .deb, setup --restart, the packaged units, a reboot, setup --undo and dpkg -P.
#                      The guest's disk is cached in .cache/systemd (first run: debootstrap, ~4 min);
#                      logs in .cache/systemd/logs/.
# Knobs (environment): ARMHF_SHIM_SYSTEMD_TIMEOUT=900 (seconds for the boot), ARMHF_SHIM_SYSTEMD_ACCEL=kvm|tcg
GO ?= go

.PHONY: e2e-systemd

e2e-systemd: deps engines
	ARMHF_SHIM_REQUIRE=1 $(GO) test -count=1 -v -timeout 30m ./test/systemd/
