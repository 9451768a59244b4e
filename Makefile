# aibrain — `make demo` runs the main job, `make test` runs every test. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
APT_PACKAGES := liblz4-dev libxxhash-dev xxhash lz4 rsync libsqlite3-dev python3
DEMO_EVENTS ?= 20000
DEMO_DIR ?= demo-store
TOOL := .build/debug/aibrain-storage

.PHONY: help deps build test test-fast test-process demo bench format lint clean

help:
	@echo "make demo   - write a realistic event stream, seal, verify and dump a segment"
	@echo "make test   - build and run every test suite (prints build time and suite wall times)"
	@echo "make bench  - release benchmarks against SQLite and JSONL (Benchmarks/README.md)"

# Idempotent: installs only the Debian packages that are missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all present ($(APT_PACKAGES))"; else \
	  echo "deps: installing$$missing"; sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.2+)"; exit 1; }

build: deps
	@start=$$(date +%s.%N); swift build --build-tests 2>&1 | grep -E "error|warning|Compiling|Build complete" | grep -v "^\[" ; \
	status=$${PIPESTATUS[0]}; end=$$(date +%s.%N); awk "BEGIN{printf \"build time: %.1f s\\n\", $$end - $$start}"; exit $$status

# Suites that use only the simulated file system or temporary stores run in parallel; the process
# suite (kill -9, concurrent writers, real fsyncs) runs on its own, serialized.
test: build
	@start=$$(date +%s.%N); swift test --skip-build --skip ProcessTests 2>&1 | grep -vE " started\.?$$" ; s1=$${PIPESTATUS[0]}; \
	mid=$$(date +%s.%N); awk "BEGIN{printf \"wall time, parallel suites: %.1f s\\n\", $$mid - $$start}"; \
	swift test --skip-build --no-parallel --filter ProcessTests 2>&1 | grep -vE " started\.?$$" ; s2=$${PIPESTATUS[0]}; \
	end=$$(date +%s.%N); awk "BEGIN{printf \"wall time, serialized process suite: %.1f s\\n\", $$end - $$mid}"; \
	awk "BEGIN{printf \"wall time, all tests: %.1f s\\n\", $$end - $$start}"; \
	[ $$s1 = 0 ] && [ $$s2 = 0 ]

demo: build
	@set -e; rm -rf $(DEMO_DIR); mkdir -p $(DEMO_DIR); \
	echo "== 1. generate $(DEMO_EVENTS) realistic agent events (Benchmarks/gen_events.py, seed 42)"; \
	python3 Benchmarks/gen_events.py $(DEMO_EVENTS) $(DEMO_DIR)/events.jsonl; \
	echo; echo "== 2. create a store"; $(TOOL) init --store $(DEMO_DIR)/.aibrain --name demo; \
	echo; echo "== 3. append them in atomic, fsynced batches of 1000"; \
	$(TOOL) ingest --store $(DEMO_DIR)/.aibrain $(DEMO_DIR)/events.jsonl; \
	echo "   and once more: every event id is already there, so nothing is appended"; \
	$(TOOL) ingest --store $(DEMO_DIR)/.aibrain $(DEMO_DIR)/events.jsonl; \
	echo; echo "== 4. seal the open segment (LZ4 blocks, SHA-256 seal, hash chain)"; $(TOOL) seal --store $(DEMO_DIR)/.aibrain; \
	echo; echo "== 5. verify every header, checksum, seal, chain link and LSN"; $(TOOL) verify --store $(DEMO_DIR)/.aibrain; \
	echo; echo "== 6. stats"; $(TOOL) stats --store $(DEMO_DIR)/.aibrain; \
	printf "   JSONL input: %s bytes; sealed log: %s bytes\n" $$(stat -c %s $(DEMO_DIR)/events.jsonl) $$(du -cb $(DEMO_DIR)/.aibrain/log/*/*.seg | tail -1 | cut -f1); \
	seg=$$(ls $(DEMO_DIR)/.aibrain/log/*/*.seg | head -1); \
	echo; echo "== 7. dump the first sealed segment (structure, first blocks)"; $(TOOL) dump --no-records $$seg | head -16; \
	task=$$(python3 -c "import json;print(json.load(open('$(DEMO_DIR)/events.jsonl.meta.json'))['query_task_id'])"); \
	echo; echo "== 8. the history of task $$task (stream index, no scan), first 3 events"; \
	$(TOOL) history --store $(DEMO_DIR)/.aibrain task/$$task | head -3 | cut -c1-300; \
	echo; echo "demo done: the store is in $(DEMO_DIR)/.aibrain"

bench: deps
	Benchmarks/run.sh --events $${EVENTS:-1000000} --runs $${RUNS:-5}

format:
	swift format -i -r Sources Tests Benchmarks/Sources

lint:
	swift format lint --strict -r Sources Tests

clean:
	rm -rf .build $(DEMO_DIR)
