#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fixtures/fuzz/<target>/seed-*: real files made by aibrain
# (segments, notes, heads, proofs, cursors, handoffs, manifests, keyrings) plus the golden fixtures.
# `make fuzz-seeds` runs it; the replay test (ReliabilityTests/FuzzCorpusTests) reads what it wrote.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
A=${AIBRAIN:-$repo/.build/debug/aibrain}
out=$repo/fixtures/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AIBRAIN_ACTOR=claude-dev-1 AIBRAIN_TEAM=dev AIBRAIN_QUIET=1
for t in segment-header open-segment record sealed-segment lz4 cursor envelope-json handoff manifest signed-note head proof contracts store-files legacy-ko legacy-decisions legacy-session; do
  mkdir -p "$out/$t"; rm -f "$out/$t"/seed-*
done
seed() { cp "$2" "$out/$1/seed-$3"; }

cd "$work"
"$A" init --origin seeds >/dev/null
"$A" keys team add ops >/dev/null
"$A" emit session.started --task T-1 --data '{"session_id":"S-1","goal":"fuzz seeds"}' >/dev/null
"$A" emit session.checkpointed --task T-1 --data '{"checkpoint_id":"CP-1","iteration":1,"verdict":"PASS","summary":"ok","next_steps":["ship"]}' >/dev/null
AIBRAIN_TEAM=ops "$A" emit decision.recorded --task T-1 --data '{"kind":"APPROACH","value":"encrypted for ops"}' >/dev/null
"$A" tail -n 3 --show-cursor 2>/dev/null | sed -n 's/^-- cursor: //p' | tr -d '\n' > cursor.txt
"$A" session handoff T-1 >/dev/null
"$A" seal >/dev/null
"$A" emit decision.recorded --task T-2 --data '{"kind":"GUARDRAIL_OVERRIDE","value":"allow","severity":"low","approver":"human:dr-lee"}' >/dev/null
"$A" head -w head.note >/dev/null
"$A" prove 1 -w proof.json >/dev/null
o=$(ls .aibrain/log | grep -E '^[0-9a-f]{32}$' | head -1)
seg=$(ls .aibrain/log/$o/*.seg | head -1)
open=$(ls .aibrain/log/$o/*.open | head -1)
mkdir peer && (cd peer && "$A" init --origin peer >/dev/null) && "$A" ship push peer >/dev/null

seed sealed-segment "$seg" store-encrypted.seg
seed open-segment "$open" store-encrypted.open
for f in sealed.seg sealed-signed.seg sealed-before-merkle.seg; do seed sealed-segment "$repo/fixtures/golden-v1/$f" "golden-$f"; done
seed open-segment "$repo/fixtures/golden-v1/open.open" golden-open.open
head -c 128 "$seg" > "$out/segment-header/seed-sealed"
head -c 128 "$open" > "$out/segment-header/seed-open"
head -c 128 "$repo/fixtures/golden-v1/sealed.seg" > "$out/segment-header/seed-golden-sealed"
seed cursor cursor.txt token
seed handoff .aibrain/session-T-1-CP-1.md session-T-1-CP-1.md
seed head head.note note
seed signed-note head.note head
seed signed-note "$repo/fixtures/golden-v1/sealed-signed.note" golden-seal
seed proof proof.json bundle.json
seed manifest peer/.aibrain/incoming/$o.manifest.json pushed.json
seed manifest "$repo/fixtures/ship/manifest.json" golden.json
seed contracts "$repo/fixtures/governance/contracts.yaml" golden.yaml
# envelope-json: the envelope contract's examples (valid and invalid) and the catalogue's, as emit reads them.
python3 - "$repo" "$out/envelope-json" <<'PY'
import json, sys
repo, out = sys.argv[1], sys.argv[2]
n = 0
for line in open(repo + "/fixtures/envelope-examples.jsonl"):
    n += 1
    open(f"{out}/seed-envelope-{n}", "w").write(json.dumps(json.loads(line)["event"]))
for i, line in enumerate(open(repo + "/fixtures/events/examples.jsonl")):
    if i >= 40: break
    e = json.loads(line)
    open(f"{out}/seed-catalogue-{i + 1}", "w").write(json.dumps({"type": e["type"], "data": e["data"]}))
PY
# legacy-*: the legacy fixtures (legacy-ko: first byte 0 = KO markdown, 1 = its metadata JSON).
L="$repo/fixtures/legacy"
for f in "$L"/knowledge/approved/*.md; do { printf '\x00'; cat "$f"; } > "$out/legacy-ko/seed-$(basename "$f")"; done
for f in "$L"/knowledge/approved/*.json; do { printf '\x01'; cat "$f"; } > "$out/legacy-ko/seed-$(basename "$f")"; done
for f in "$L"/.aibrain/decisions/*.jsonl; do cp "$f" "$out/legacy-decisions/seed-$(basename "$f")"; done
for f in "$L"/.aibrain/session-*.md; do cp "$f" "$out/legacy-session/seed-$(basename "$f")"; done
# store-files: the first byte picks the decoder (0 store.json, 1 CATALOG, 2 team keyring, 3 LOCK watermark).
{ printf '\x00'; cat .aibrain/store.json; } > "$out/store-files/seed-store.json"
{ printf '\x01'; cat .aibrain/log/$o/CATALOG; } > "$out/store-files/seed-catalog"
{ printf '\x02'; cat .aibrain/keys/teams/keyring.json; } > "$out/store-files/seed-keyring"
# record and lz4 seeds come from the replay test's generator (binary envelopes, logical records, LZ4 frames).
AIBRAIN_WRITE_FUZZ_SEEDS="$out" swift test --package-path "$repo" --skip-build --filter FuzzCorpusTests/generatedSeeds >/dev/null
ls "$out"/* | head -100 >/dev/null
for t in "$out"/*/; do printf '%-16s %s seeds\n' "$(basename "$t")" "$(ls "$t" | grep -c '^seed-')"; done
