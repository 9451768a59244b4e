#!/usr/bin/env python3
"""Trust-layer benchmark: append and replay throughput with signed seals and per-team encryption on vs off.

Usage: python3 Benchmarks/trust_bench.py [--events 1000000] [--runs 3] [--binary PATH] [--work DIR] [--no-pin]

The workload is the generator's events (gen_events.py N, seed 42) with a `team` added to each line from its
agent (`claude-dev-1` → `dev`, …), so that payloads fall into per-team regions. Three configurations, each on
a fresh store, the same binary, every aibrain process pinned to CPU 0:

  plain       `init`, then keys/ removed: seals unsigned, nothing encrypted (what aibrain 0.5 wrote)
  signed      `init` as is: every seal signed (Ed25519) with an RFC 6962 Merkle root
  encrypted   signed, plus a key for every team (`keys team add`): payload regions ChaCha20-Poly1305 at rest

Timed per run (spawn to exit, medians of --runs):
  import      `import jsonl FILE` of all events (appends, group commit, and the seals of every 16 MiB roll)
  seal        `seal` of what is still open
  export      `export` of every event to /dev/null (reads, decompresses, decrypts, renders JSON)
  rebuild     `rebuild` of every projection (the replay engine's fold over the merged order)
  verify      `verify` (every checksum, seal, chain link, Merkle root and signature)

Correctness (the run fails otherwise): every configuration exports the same events (same count and the same
SHA-256 of the export), `verify` passes, and the signed/encrypted stores' seals verify with their key.
Results go to Benchmarks/trust-results.json. There are no timing targets.
"""
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PIN = "--no-pin" not in sys.argv


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def run(cmd, cwd, stdout=subprocess.PIPE):
    if PIN and os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode())
        raise SystemExit("%s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return (p.stdout.decode() if stdout == subprocess.PIPE else ""), seconds


def team_of(agent):
    parts = agent.split("-")
    return parts[1] if len(parts) >= 3 else "ops"


def workload(work, events):
    raw = os.path.join(work, "events-%d.jsonl" % events)
    if not os.path.exists(raw):
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_events.py"), str(events), raw, "--no-stats"])
    teamed = os.path.join(work, "events-%d-teams.jsonl" % events)
    teams = set()
    if not os.path.exists(teamed):
        with open(raw) as src, open(teamed + ".tmp", "w") as dst:
            for line in src:
                e = json.loads(line)
                e["team"] = team_of(e.get("agent", ""))
                dst.write(json.dumps(e, separators=(",", ":")) + "\n")
        os.rename(teamed + ".tmp", teamed)
    with open(teamed) as f:
        for line in f:
            teams.add(json.loads(line)["team"])
    return teamed, sorted(teams)


def main():
    events = int(arg("--events", "1000000"))
    runs = int(arg("--runs", "3"))
    work = arg("--work", "/tmp/aibrain-trust-bench")
    binary = os.path.abspath(arg("--binary", os.path.join(ROOT, ".build-release", "release", "aibrain")))
    if not os.path.exists(binary):
        raise SystemExit("no release binary at %s (make bench-trust builds it)" % binary)
    os.makedirs(work, exist_ok=True)
    path, teams = workload(work, events)
    size = os.path.getsize(path)
    has_teams = subprocess.run([binary, "keys", "team", "--help"], capture_output=True).returncode == 0
    configs = ["plain", "signed"] + (["encrypted"] if has_teams else [])
    print("%s; %d events (%.1f MB), teams %s; %s; nproc %d" % (
        binary, events, size / 1e6, ",".join(teams), "pinned to CPU 0" if PIN else "not pinned", os.cpu_count()),
        flush=True)
    results = {}
    digests = {}
    for config in configs:
        samples = {k: [] for k in ["import", "seal", "export", "rebuild", "verify"]}
        for r in range(runs):
            d = os.path.join(work, "store-" + config)
            subprocess.call(["rm", "-rf", d])
            os.makedirs(d)
            run([binary, "init", "--origin", "bench-" + config], d)
            if config == "plain":
                subprocess.check_call(["rm", "-rf", os.path.join(d, ".aibrain", "keys")])
            if config == "encrypted":
                for t in teams:
                    run([binary, "keys", "team", "add", t], d)
            _, t = run([binary, "import", "jsonl", path], d)
            samples["import"].append(t)
            _, t = run([binary, "seal"], d)
            samples["seal"].append(t)
            out = os.path.join(work, "export-%s.jsonl" % config)
            with open(out, "w") as f:
                _, t = run([binary, "export"], d, stdout=f)
            samples["export"].append(t)
            h = hashlib.sha256()
            count = 0
            with open(out, "rb") as f:
                for line in f:
                    e = json.loads(line)
                    # The export names the origin; compare the events themselves.
                    for k in ("origin", "recorded_at", "hlc"):
                        e.pop(k, None)
                    h.update(json.dumps(e, sort_keys=True).encode())
                    count += 1
            os.remove(out)
            if count != events:
                raise SystemExit("%s: exported %d of %d events" % (config, count, events))
            digests.setdefault(config, h.hexdigest())
            _, t = run([binary, "rebuild"], d)
            samples["rebuild"].append(t)
            report, t = run([binary, "verify", "-o", "json"], d)
            samples["verify"].append(t)
            v = json.loads(report)
            if not v["ok"]:
                raise SystemExit("%s: verify failed" % config)
            local = v["signatures"][0]
            if config != "plain" and local["verified"] != local["signed"]:
                raise SystemExit("%s: not every seal verified: %s" % (config, local))
            if config == "plain" and local["signed"] != 0:
                raise SystemExit("plain: found signed seals")
            print("  %s run %d: %s" % (config, r + 1, ", ".join("%s %.2f s" % (k, v[-1]) for k, v in samples.items())),
                  flush=True)
        results[config] = {k: statistics.median(v) for k, v in samples.items()}
        results[config]["runs"] = {k: v for k, v in samples.items()}
    if len(set(digests.values())) != 1:
        raise SystemExit("configurations export different events: %s" % digests)

    print("\n| figure | " + " | ".join(configs) + " |")
    print("|---|" + "---:|" * len(configs))
    for k, unit in [("import", "events/s"), ("export", "events/s"), ("rebuild", "events/s")]:
        print("| %s | %s |" % (k + " (" + unit + ")",
              " | ".join("%s (%.2f s)" % (format(int(events / results[c][k]), ","), results[c][k]) for c in configs)))
    for k in ["seal", "verify"]:
        print("| %s | %s |" % (k, " | ".join("%.2f s" % results[c][k] for c in configs)))
    for c in configs[1:]:
        print("%s vs plain: import %.1f%%, export %.1f%%, rebuild %.1f%%, verify %.1f%%" % (
            c, *(100 * (results["plain"][k] / results[c][k] - 1) for k in ["import", "export", "rebuild", "verify"])))
    with open(os.path.join(HERE, "trust-results.json"), "w") as f:
        json.dump({"events": events, "bytes": size, "runs": runs, "teams": teams, "binary": binary,
                   "pinned": PIN, "results": results}, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
