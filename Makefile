# tracesync — build, run, test, benchmark and package.
#
#   make run      install what is missing, build ./tracesync, start the desktop app
#   make test     install what is missing, go vet, go test -race, the smoke test
#   make bench    every Benchmark in the repository
#   make package  tracesync.tar.xz (Linux, with the fyne tool) and tracesync.exe (Windows)
#
# Installing Debian packages needs root or sudo (scripts/deps.sh does nothing
# when everything is present). The Go build cache is never cleaned: a cold
# build compiles go-gl's C for several minutes, a warm one takes seconds.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Every go command gets the same tags: Fyne's fyne.Do migration is declared in
# FyneApp.toml, which only the fyne tool reads.
TAGS := migrated_fynedo
GOTAGS := -tags $(TAGS)
# `make test` builds everything with the race detector — vet, the tests and
# the smoke binary alike — so each package is compiled once: a cold run
# compiles go-gl's C one time (~4.5 min on 2 cores) instead of twice.
TESTFLAGS := $(GOTAGS) -race

BIN := tracesync
PKG := ./cmd/tracesync
# Arguments for `make run`, e.g. make run ARGS=--demo
ARGS ?=
BENCHTIME ?= 1s
BENCH ?= .
BENCHPKGS ?= ./...

FYNE_TOOL_VERSION := v1.7.4
GOBIN_DIR := $(or $(shell $(GO) env GOBIN 2>/dev/null),$(firstword $(subst :, ,$(shell $(GO) env GOPATH 2>/dev/null)))/bin)
FYNE := $(GOBIN_DIR)/fyne
WIN_CC ?= x86_64-w64-mingw32-gcc

.PHONY: help deps deps-test deps-package build run vet unit smoke test bench package package-linux package-windows fyne-tool icons clean

help:
	@echo "make run      build and start tracesync (demo mode without credentials)"
	@echo "make test     go vet, go test -race, and the Xvfb smoke test"
	@echo "make bench    run every benchmark (BENCH=regexp BENCHTIME=$(BENCHTIME) BENCHPKGS=$(BENCHPKGS))"
	@echo "make package  tracesync.tar.xz (Linux) and tracesync.exe (Windows)"
	@echo "Installing missing Debian packages needs root or sudo."

deps:
	@bash scripts/deps.sh run

deps-test:
	@bash scripts/deps.sh test

deps-package:
	@bash scripts/deps.sh package

# Always ask go: it knows what changed, and a warm rebuild takes seconds.
build: deps
	$(GO) build $(GOTAGS) -o $(BIN) $(PKG)

# Starts the app; without a display, says how to run it under Xvfb. LANG
# becomes en_US.UTF-8 where it is C/POSIX (Fyne logs an error on those).
run: build
	@if [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ]; then \
		echo "make run: no display (DISPLAY is not set): tracesync is a desktop app and needs one."; \
		echo "  On a desktop, run 'make run' from a terminal inside the graphical session."; \
		echo "  Without a screen, run it under a virtual X server:"; \
		echo "    make deps-test   # installs xvfb, xauth, libgl1-mesa-dri, dbus"; \
		echo "    xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- ./$(BIN) --demo"; \
		echo "  or run the engine without a window: ./$(BIN) run --demo"; \
		exit 1; \
	fi
	@case "$${LANG:-C}" in C|C.*|POSIX) export LANG=en_US.UTF-8;; esac; \
		echo "./$(BIN) $(ARGS)"; exec ./$(BIN) $(ARGS)

vet: deps-test
	$(GO) vet $(TESTFLAGS) ./...

unit: deps-test
	$(GO) test $(TESTFLAGS) ./...

smoke: deps-test
	$(GO) build $(TESTFLAGS) -o $(BIN) $(PKG)
	bash scripts/smoke.sh ./$(BIN)

# vet, the tests, then the real binary under Xvfb (a data race fails it too).
test: deps-test
	$(GO) vet $(TESTFLAGS) ./...
	$(GO) test $(TESTFLAGS) ./...
	$(GO) build $(TESTFLAGS) -o $(BIN) $(PKG)
	bash scripts/smoke.sh ./$(BIN)

# One package at a time (-p 1) so benchmarks do not compete for the CPUs.
bench: deps
	$(GO) test $(GOTAGS) -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count 1 -p 1 -timeout 60m $(BENCHPKGS)

icons:
	$(GO) run ./scripts/genicons

fyne-tool:
	@v=$$("$(FYNE)" version 2>/dev/null || true); \
	if [[ "$$v" == *"cli version: $(FYNE_TOOL_VERSION)"* ]]; then \
		echo "fyne tool $(FYNE_TOOL_VERSION) present"; \
	else \
		echo "installing fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION)"; \
		$(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION); \
	fi

package: package-linux package-windows

# The fyne tool packs a binary built here with the same tags (it cannot
# build a main package outside the folder holding FyneApp.toml). It also
# bumps Build in FyneApp.toml on every run: the file is restored afterwards.
package-linux: deps-package fyne-tool
	$(GO) build $(GOTAGS) -ldflags '-s -w' -o $(BIN) $(PKG)
	@cp FyneApp.toml .FyneApp.toml.orig
	@trap 'mv -f .FyneApp.toml.orig FyneApp.toml' EXIT; \
		"$(FYNE)" package -os linux --tags $(TAGS) --executable ./$(BIN)
	@ls -l $(BIN).tar.xz

# Most back-office PCs run Windows: cross-compile with mingw-w64 (go-gl's C
# is compiled again for Windows the first time). -H=windowsgui: no console
# window behind the app.
package-windows: deps-package
	CC=$(WIN_CC) GOOS=windows GOARCH=amd64 CGO_ENABLED=1 \
		$(GO) build $(GOTAGS) -ldflags '-s -w -H=windowsgui' -o $(BIN).exe $(PKG)
	@ls -l $(BIN).exe

# Removes build outputs only, never the Go build cache.
clean:
	rm -f $(BIN) $(BIN).exe $(BIN).tar.xz
	rm -rf .smoke tmp-pkg
