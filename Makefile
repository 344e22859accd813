# obcap — every target installs what it needs first (Bun comes from npm, see package.json).
SHELL := /bin/bash
BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
SOURCES := $(shell find src -name '*.ts') package.json Makefile scripts/build-binary.ts
PAIR ?= btcusd

.PHONY: all install java build release qemu lambda zip test typecheck run demo bench bench-long clean

all: build

# npm ci when package-lock.json changed since the last install.
node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp

# DynamoDB Local (tests, demo, bench) needs Java 17+.
java:
	@if ! command -v java >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "java not found: installing a headless JRE with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	  else \
	    echo "java not found: DynamoDB Local needs it. Run: sudo apt-get update && sudo apt-get install -y openjdk-17-jre-headless"; \
	    exit 1; \
	  fi; \
	fi

# One executable for this machine; the pipeline Worker is an extra entrypoint so it is compiled in (BUN-NOTES).
# The commit a binary reports (--version): rebuilt when it changes, not only when a source does.
BUILD_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
.PHONY: FORCE
dist/.commit: FORCE
	@mkdir -p dist && echo '$(BUILD_COMMIT)' | cmp -s - $@ || echo '$(BUILD_COMMIT)' > $@

dist/obcap: node_modules/.install-stamp $(SOURCES) dist/.commit
	@mkdir -p dist
	$(BUN) scripts/build-binary.ts --outfile dist/obcap

build: dist/obcap

# What a server downloads: dist/obcap-linux-x64, dist/obcap-linux-arm64 and dist/SHA256SUMS (README "Install on a server").
dist/SHA256SUMS: node_modules/.install-stamp $(SOURCES) dist/.commit scripts/release.ts
	$(BUN) scripts/release.ts

release: dist/SHA256SUMS

# An arm64 emulator (qemu-user) and the aarch64 C library, so the tests run the arm64 release binary here.
qemu:
	@if ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "qemu-aarch64 not found: installing qemu-user and libc6-arm64-cross with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null; \
	  else \
	    echo "qemu-aarch64 not found: the arm64 release binary is checked by its ELF header only. To run it too: sudo apt-get install -y qemu-user libc6-arm64-cross"; \
	  fi; \
	fi

# The API for AWS Lambda (Node.js runtime): index.mjs at the zip's root exports `handler` (docs/api.md).
dist/obcap-api-lambda.zip: node_modules/.install-stamp $(SOURCES) | zip
	@rm -rf dist/lambda && mkdir -p dist/lambda
	$(BUN) build src/api/lambda.ts --target=node --format=esm --minify --outfile dist/lambda/index.mjs
	@rm -f $@ && cd dist/lambda && zip -q -X ../obcap-api-lambda.zip index.mjs
	@ls -l $@ | awk '{printf "dist/obcap-api-lambda.zip: %.2f MB\n", $$5/1048576}'

lambda: dist/obcap-api-lambda.zip

zip:
	@if ! command -v zip >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "zip not found: installing it with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip; \
	  else \
	    echo "zip not found: make lambda needs it. Run: sudo apt-get install -y zip"; \
	    exit 1; \
	  fi; \
	fi

typecheck: install
	$(TSC) --noEmit -p .

# Starts DynamoDB Local on a free port, runs bun test, stops it; then the core's unit tests under Deno.
test: install java build release qemu lambda typecheck
	$(BUN) tests/support/run-with-services.ts --timeout 120000
	$(MAKE) --no-print-directory test-deno

# The core's unit tests under Deno (from npm), offline; the list is tests/deno/core-tests.ts (tests/deno/README.md).
.PHONY: test-deno
test-deno: install
	DENO_NO_UPDATE_CHECK=1 node_modules/.bin/deno run --allow-all --no-config tests/deno/run.ts

# Live capture of Bitstamp (needs internet, no AWS): journal segments in obcap-data/segments/.
run: build
	./dist/obcap --pair $(PAIR) --journal obcap-data

# Offline: local exchange + DynamoDB Local, capture a few seconds, show what was stored.
demo: install java build
	$(BUN) scripts/demo.ts

bench: install java build lambda
	$(BUN) bench/run.ts --all

# One hour of capture with journal, upload and metrics (RSS, fds, journal size): its block of BENCHMARKS.md.
bench-long: install java release
	OBCAP_BENCH_BINARY=dist/obcap-linux-x64 $(BUN) bench/run.ts --only longrun

clean:
	rm -rf dist
