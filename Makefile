# Build and test entry points of husk. `make help` lists the targets.
#
# Everything a target needs from Debian is installed by `make deps` (run as
# root, or with sudo available): a fresh clone needs only Go and gcc.

SHELL := /bin/bash
.DEFAULT_GOAL := all
# Targets run one after the other: `test` relies on its steps' order, and go
# build and go test parallelise by themselves.
.NOTPARALLEL:

# Go as installed on the project's machines (/usr/local/go) when it is not
# on PATH.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOFMT ?= $(dir $(GO))gofmt
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo 0.1.0-dev)
COMMIT ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && \
	{ git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; })

# husk is one static binary, pure Go (no cgo: a cgo binary pays static
# glibc's start-up, ~0.4 ms, on every command). The container init is a
# small C program, built here with musl (static, ~70 KB, starts in ~50 us)
# and embedded into husk (libcontainer/nsenter/cinit).
GO_LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# urfave_cli_no_template: urfave/cli renders its help without text/template,
# whose reflection (reflect.Value.MethodByName) makes the linker keep every
# exported method of every type: the binary is 1 MB smaller, and a husk
# process's RSS tracks the binary's size (docs/performance.md). The help
# text is the same.
GO_TAGS := urfave_cli_no_template
MUSL_CC ?= musl-gcc
CINIT_DIR := libcontainer/nsenter/cinit
CINIT := $(CINIT_DIR)/bin/husk-init
CINIT_SOURCES := $(wildcard $(CINIT_DIR)/*.c $(CINIT_DIR)/*.h)
# musl's include path lacks the kernel's UAPI headers (linux/*.h); they
# come after musl's own, so libc headers are always musl's.
CINIT_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Werror -static \
	-idirafter /usr/include -idirafter /usr/include/$(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)

# Sources of the binary: test files and the test harnesses under tests/ do
# not change it.
HUSK_SOURCES := $(shell find . \( -path ./.git -o -path ./.cache -o -path ./tests \) -prune -o \
	-type f \( -name '*.go' -o -name '*.c' -o -name '*.h' \) ! -name '*_test.go' -print) go.mod go.sum

# Debian packages for building and testing husk.
DEPS_PACKAGES := busybox-static libseccomp-dev pkg-config jq go-md2man gcc libc6-dev cpio musl-tools

# ensure_packages installs those of the Debian packages $(1) that are not
# installed yet; it runs `apt-get update` only when something is missing, so
# that it costs a few dpkg look-ups when all is there.
define ensure_packages
	@missing=""; \
	for pkg in $(1); do \
		dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y \
			--no-install-recommends install $$missing; \
	fi
endef

.PHONY: all deps bundle demo test vet fmt-check unit integration man fuzz conformance \
	conformance-tools vm-setup vmtest clean install help

all: husk

help:
	@echo "targets: all/husk deps bundle demo test unit integration vet fmt-check man fuzz"
	@echo "         conformance conformance-check vm-setup vmtest install clean"
	@echo "vars:    BUNDLE=DIR BUNDLE_ARGS='cmd ...'  RUNTIME=runc CONFORMANCE_ARGS='-run kill -j 2'"
	@echo "         FUZZTIME=30s  VM_HOME=DIR  PREFIX=/usr/local"

deps:
	$(call ensure_packages,$(DEPS_PACKAGES))

husk: $(HUSK_SOURCES) $(CINIT) Makefile | deps
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(GO_TAGS)' -ldflags '$(GO_LDFLAGS)' -o $@ .

$(CINIT): $(CINIT_SOURCES) | deps
	$(MUSL_CC) $(CINIT_CFLAGS) -o $@ $(filter %.c,$^)
	strip $@

# ---- bundles and the demo -------------------------------------------------

BUNDLE ?= /tmp/husk-bundle
BUNDLE_ARGS ?=

# `make bundle BUNDLE=DIR BUNDLE_ARGS='sh -c "echo hi"'`: a busybox OCI bundle.
bundle: husk
	HUSK=$(CURDIR)/husk tests/bundle/mkbundle.sh $(BUNDLE) $(BUNDLE_ARGS)

DEMO_DIR ?= /tmp/husk-demo

demo: husk
	@rm -rf $(DEMO_DIR)
	@HUSK=$(CURDIR)/husk tests/bundle/mkbundle.sh $(DEMO_DIR)/bundle sh -c \
		'echo hello from husk; id; hostname; tr "\000" " " < /proc/1/cmdline; echo' >/dev/null
	@echo "+ husk --root $(DEMO_DIR)/state run -b $(DEMO_DIR)/bundle demo-<pid>"
	@$(CURDIR)/husk --root $(DEMO_DIR)/state run -b $(DEMO_DIR)/bundle demo-$$$$

# ---- tests ------------------------------------------------------------------

# conformance-check runs last, after the integration tests: it is the
# slowest step (~80 s, plus ~15 s to build the programs on a fresh clone).
test: deps husk vet fmt-check unit integration conformance-check vm-integration

vet: $(CINIT)
	$(GO) vet -tags '$(GO_TAGS)' ./...

fmt-check:
	@unformatted=$$(find . \( -path ./.git -o -path ./.cache \) -prune -o -name '*.go' -print | xargs -r $(GOFMT) -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi; \
	echo "gofmt: clean"

# Unit tests: every package but the integration suite, plus the conformance
# runner's own tests (it is a separate module).
unit: deps $(CINIT)
	$(GO) test -tags '$(GO_TAGS)' $$($(GO) list ./... | grep -v '/tests/integration')
	cd tests/conformance && $(GO) test ./runner/

integration: husk
	@if [ -d tests/integration ]; then \
		echo "+ go test -count=1 -v -timeout 40m ./tests/integration/..."; \
		HUSK_TEST_RUNTIME=$(CURDIR)/husk $(GO) test -count=1 -v -timeout 40m ./tests/integration/...; \
	else \
		echo "integration: tests/integration does not exist yet; skipped"; \
	fi

FUZZTIME ?= 30s
FUZZ_PKG ?= $(firstword $(wildcard ./libcontainer/specconv ./specconv))

# Runs each Fuzz* target of the specconv package for FUZZTIME.
fuzz: deps
	@[ -n "$(FUZZ_PKG)" ] || { echo "fuzz: no specconv package found"; exit 1; }
	@targets=$$($(GO) test -list '^Fuzz' $(FUZZ_PKG) | grep '^Fuzz' || true); \
	[ -n "$$targets" ] || { echo "fuzz: no Fuzz* target in $(FUZZ_PKG)"; exit 1; }; \
	for target in $$targets; do \
		echo "+ go test -run '^\$$' -fuzz '^$$target\$$' -fuzztime $(FUZZTIME) $(FUZZ_PKG)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $(FUZZ_PKG) || exit 1; \
	done

# ---- man pages ----------------------------------------------------------------

MAN_SOURCES := $(wildcard man/*.8.md)
MAN_PAGES := $(patsubst man/%.md,man/man8/%,$(MAN_SOURCES))

man: deps $(MAN_PAGES)
	@[ -n "$(MAN_PAGES)" ] || echo "man: no man/*.8.md pages yet"

man/man8/%.8: man/%.8.md
	@mkdir -p $(@D)
	go-md2man -in $< -out $@

# ---- OCI runtime-tools validation suite ---------------------------------------

CONFORMANCE_DIR := tests/conformance
CONFORMANCE_BIN := $(CONFORMANCE_DIR)/.bin
RUNTIME_TOOLS := github.com/opencontainers/runtime-tools
RUNTIME ?= $(CURDIR)/husk
CONFORMANCE_ARGS ?=

# The validation programs and runtimetest are built once from the module
# pinned in tests/conformance/go.mod, and again only when that pin changes.
$(CONFORMANCE_BIN)/.built: $(CONFORMANCE_DIR)/go.mod $(CONFORMANCE_DIR)/go.sum
	@rm -rf $(CONFORMANCE_BIN) && mkdir -p $(CONFORMANCE_BIN)
	cd $(CONFORMANCE_DIR) && $(GO) mod download $(RUNTIME_TOOLS)
	cd $(CONFORMANCE_DIR) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o .bin/validation/ \
		$$($(GO) list tool | grep '/validation/')
	cd $(CONFORMANCE_DIR) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o .bin/runtimetest \
		$(RUNTIME_TOOLS)/cmd/runtimetest
	cp "$$(cd $(CONFORMANCE_DIR) && $(GO) list -m -f '{{.Dir}}' $(RUNTIME_TOOLS))/rootfs-amd64.tar.gz" \
		$(CONFORMANCE_BIN)/
	@chmod u+w $(CONFORMANCE_BIN)/rootfs-amd64.tar.gz
	@touch $@

$(CONFORMANCE_BIN)/runner: $(wildcard $(CONFORMANCE_DIR)/runner/*.go) $(CONFORMANCE_BIN)/.built
	cd $(CONFORMANCE_DIR) && $(GO) build -o .bin/runner ./runner

conformance-tools: $(CONFORMANCE_BIN)/.built $(CONFORMANCE_BIN)/runner

# `make conformance RUNTIME=runc CONFORMANCE_ARGS='-run kill'`; see
# tests/conformance/README.md. Programs that create cgroups need -all.
conformance: conformance-tools $(if $(filter $(CURDIR)/husk,$(RUNTIME)),husk)
	$(CONFORMANCE_BIN)/runner -runtime $(RUNTIME) -logs $(CONFORMANCE_DIR)/.logs $(CONFORMANCE_ARGS)

# The regression gate (part of `make test`): like `conformance`, but it
# passes when each program's result matches CONFORMANCE_EXPECTED (known
# failures are listed there with their reason; docs/conformance.md) and
# fails on a program expected to pass that does not.
CONFORMANCE_EXPECTED ?= $(CONFORMANCE_DIR)/expected.txt
.PHONY: conformance-check vm-integration
conformance-check: conformance-tools $(if $(filter $(CURDIR)/husk,$(RUNTIME)),husk)
	$(CONFORMANCE_BIN)/runner -runtime $(RUNTIME) -logs $(CONFORMANCE_DIR)/.logs \
		-check $(CONFORMANCE_EXPECTED) $(CONFORMANCE_ARGS)

# ---- cgroup v2 VM ---------------------------------------------------------------

# Kernel, debs and the initramfs base are cached here across clones.
VM_HOME ?= /var/cache/husk-vm
export VM_HOME

vm-setup:
	tests/vm/setup.sh

vmtest: husk vm-setup
	tests/vm/smoke.sh $(CURDIR)/husk

# The integration suite and the rootfs/libcontainer unit tests inside the
# VM: a pure cgroup v2 host with another kernel (Debian's 6.1 cloud
# kernel). The test binaries are static (the guest has only busybox).
VM_PAYLOAD := .cache/vm-payload
vm-integration: husk vm-setup
	rm -rf $(VM_PAYLOAD) && mkdir -p $(VM_PAYLOAD)
	cp husk $(VM_PAYLOAD)/husk
	CGO_ENABLED=0 $(GO) test -c -o $(VM_PAYLOAD)/integration.test ./tests/integration
	CGO_ENABLED=0 $(GO) test -c -o $(VM_PAYLOAD)/rootfs.test ./libcontainer/rootfs
	tests/vm/run.sh -t 1500 -m 2048 $(VM_PAYLOAD) -- sh -c '\
		./rootfs.test > rootfs.log 2>&1 || { cat rootfs.log; exit 1; }; tail -1 rootfs.log; \
		HUSK_TEST_RUNTIME=/payload/husk ./integration.test -test.timeout 1400s -test.v > it.log 2>&1 || { grep -E "^(--- FAIL|\s+\S+_test.go)" it.log; tail -5 it.log; exit 1; }; \
		grep -c "^--- PASS" it.log | sed "s/^/integration tests passed in the VM: /"; tail -1 it.log'

# ---- install / clean ------------------------------------------------------------

install: husk man
	install -D -m 0755 husk $(DESTDIR)$(BINDIR)/husk
	@for page in $(MAN_PAGES); do \
		echo "install -D -m 0644 $$page $(DESTDIR)$(MANDIR)/man8/$${page##*/}"; \
		install -D -m 0644 "$$page" "$(DESTDIR)$(MANDIR)/man8/$${page##*/}"; \
	done

# The VM cache (VM_HOME) is kept: it is a download cache shared by clones.
clean:
	rm -f husk
	rm -rf man/man8 $(CONFORMANCE_BIN) $(CONFORMANCE_DIR)/.logs

# ---- benchmarks ---------------------------------------------------------------

# runc and crun are the baselines husk is compared with.
BENCH_PACKAGES := runc crun
BENCH_N ?= 50
BENCH_OUT ?= $(CURDIR)/.cache/bench/results.json

# `make bench BENCH_N=20`: CPU time, wall time and peak RSS of husk, runc and
# crun on the same busybox bundle, interleaved, with medians, p90s and
# husk/runc, husk/crun ratios; JSON in BENCH_OUT. Needs root. Method and
# figures: docs/performance.md.
.PHONY: bench
bench: deps husk
	$(call ensure_packages,$(BENCH_PACKAGES))
	$(GO) run ./tests/bench -husk $(CURDIR)/husk -n $(BENCH_N) -out $(BENCH_OUT)
