#!/usr/bin/env python3
"""Projection benchmark: full rebuild of every projection from the generator's events, and the cost of
folding new events incrementally through the snapshots.

Usage: python3 Benchmarks/projections_bench.py [--events 1000000] [--runs 3] [--binary PATH] [--work DIR]

Each measured run is a fresh `aibrain rebuild -o json` process pinned to CPU 0; its peak RSS comes from
wait4(). The run fails (exit 1) unless every event fed a projection (no unknown types, no unused or
unparsable events). Targets (issue 4): >= 2.5M events/s (floor 1.0M) on one core; peak RSS <= 2 x the
snapshot bytes + 64 MiB. Results go to Benchmarks/projections-results.json.
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def run(cmd, cwd, stdin=None, pin=True):
    """Runs a command to completion; returns (stdout, wall seconds)."""
    if pin and os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(stdin)
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        sys.stderr.write(err.decode())
        raise SystemExit("%s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return out.decode(), seconds


def rss(cmd, cwd):
    """Peak RSS (bytes) and wall seconds of one run, from wait4()."""
    if os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 2)
        out = os.open(os.path.join(cwd, "rebuild.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed" % " ".join(cmd))
    with open(os.path.join(cwd, "rebuild.json")) as f:
        report = json.load(f)
    return report, usage.ru_maxrss * 1024, seconds


def main():
    events = int(arg("--events", "1000000"))
    runs = int(arg("--runs", "3"))
    work = arg("--work", "/tmp/aibrain-projections-bench")
    binary = arg("--binary", os.path.join(ROOT, ".build-release", "release", "aibrain"))
    if not os.path.exists(binary):
        raise SystemExit("no release binary at %s (make bench-projections builds it)" % binary)
    os.makedirs(work, exist_ok=True)
    workload = os.path.join(work, "events-%d.jsonl" % events)
    extra = os.path.join(work, "extra-10000.jsonl")
    if not os.path.exists(workload):
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_events.py"), str(events), workload, "--no-stats"])
    if not os.path.exists(extra):
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_events.py"), "10000", extra, "--seed", "7",
                               "--no-stats"])
    store_dir = os.path.join(work, "store-%d" % events)
    marker = os.path.join(store_dir, "imported")
    if not os.path.exists(marker):
        subprocess.call(["rm", "-rf", store_dir])
        os.makedirs(store_dir)
        run([binary, "init", "--origin", "bench"], store_dir, pin=False)
        print("importing %d events (untimed) ..." % events, flush=True)
        run([binary, "import", "jsonl", workload], store_dir, pin=False)
        open(marker, "w").close()

    rebuilds = []
    for i in range(runs):
        report, peak, wall = rss([binary, "rebuild", "-o", "json"], store_dir)
        rebuilds.append((report, peak, wall))
        print("run %d: folded %d events in %.3f s (%.0f events/s), process %.2f s, peak RSS %.1f MiB"
              % (i + 1, report["events"], report["seconds"], report["events_per_second"], wall, peak / 2**20),
              flush=True)
    report = rebuilds[-1][0]
    snapshot_bytes = sum(s["bytes"] for s in report["snapshots"])
    rate = statistics.median(r[0]["events_per_second"] for r in rebuilds)
    fold_s = statistics.median(r[0]["seconds"] for r in rebuilds)
    wall_s = statistics.median(r[2] for r in rebuilds)
    peak = max(r[1] for r in rebuilds)
    rss_limit = 2 * snapshot_bytes + 64 * 2**20

    # Incremental: a query with nothing new (it loads the snapshots), and the same query after 1,000 new
    # events (folded in memory, below the save threshold). At this size the difference is within the load's
    # run-to-run noise; the per-event cost of folding is the rebuild's (events are folded the same way).
    _, t0a = run([binary, "queue", "ls", "--limit", "1"], store_dir)
    _, t0 = run([binary, "queue", "ls", "--limit", "1"], store_dir)
    t0 = min(t0, t0a)
    inc_dir = store_dir + "-inc"
    subprocess.call(["rm", "-rf", inc_dir])
    subprocess.check_call(["cp", "-a", store_dir, inc_dir])
    # A copy is detected as such (contract 1) and writes again only in a new epoch.
    run([binary, "recover", "--new-epoch"], inc_dir, pin=False)
    run([binary, "queue", "ls", "--limit", "1"], inc_dir)  # the copy's snapshots are current before the import
    with open(extra) as f:
        lines = f.readlines()
    first = os.path.join(work, "extra-1000.jsonl")
    with open(first, "w") as f:
        f.writelines(lines[:1000])
    run([binary, "import", "jsonl", first], inc_dir, pin=False)
    _, t1a = run([binary, "queue", "ls", "--limit", "1"], inc_dir)
    _, t1b = run([binary, "queue", "ls", "--limit", "1"], inc_dir)
    t1 = min(t1a, t1b)
    per_event_us = (t1 - t0) / 1000 * 1e6
    check, tcheck = run([binary, "rebuild", "--check", "-o", "json"], inc_dir)
    identical = json.loads(check)["identical"]
    subprocess.call(["rm", "-rf", inc_dir])

    failures = []
    if report["unknown_types"]:
        failures.append("unknown types: %s" % report["unknown_types"])
    if report["unused"] or report["unparsable"]:
        failures.append("%d unused and %d unparsable events" % (report["unused"], report["unparsable"]))
    if sum(report["types"].values()) != report["events"]:
        failures.append("per-type counts do not add up to the events folded")
    if not identical:
        failures.append("rebuild --check found incremental != from scratch")

    result = {
        "events": report["events"], "runs": runs, "types": report["types"],
        "fold_seconds_median": round(fold_s, 3), "events_per_second_median": round(rate),
        "rebuild_process_seconds_median": round(wall_s, 3), "peak_rss_bytes": peak,
        "snapshot_bytes": snapshot_bytes, "rss_limit_bytes": rss_limit,
        "query_without_new_events_seconds": round(t0, 3), "query_after_1000_new_events_seconds": round(t1, 3),
        "incremental_us_per_event": round(per_event_us, 2), "rebuild_check_seconds": round(tcheck, 3),
        "rebuild_check_identical": identical,
        "targets": {
            "rate_2_5M": rate >= 2_500_000, "rate_floor_1M": rate >= 1_000_000, "rss": peak <= rss_limit,
        },
        "failures": failures,
    }
    with open(os.path.join(HERE, "projections-results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print()
    print("per type: " + ", ".join("%s %d" % kv for kv in sorted(report["types"].items())))
    print("| metric | measured | target | result |")
    print("|---|---:|---|---|")
    print("| full rebuild, fold only (median of %d) | %s events/s (%.2f s) | >= 2.5M (floor 1.0M) | %s |"
          % (runs, format(round(rate), ","), fold_s,
             "PASS" if rate >= 2_500_000 else ("floor met" if rate >= 1_000_000 else "**MISS**")))
    print("| rebuild process incl. writing %d snapshot bytes | %.2f s | | |" % (snapshot_bytes, wall_s))
    print("| peak RSS | %.1f MiB | <= 2 x %.1f MiB + 64 MiB = %.1f MiB | %s |"
          % (peak / 2**20, snapshot_bytes / 2**20, rss_limit / 2**20, "PASS" if peak <= rss_limit else "**MISS**"))
    print("| a query (`queue ls`) with no new event: loads every snapshot | %.3f s | | |" % t0)
    print("| the same query after 1,000 new events (folded in memory) | %.3f s (difference %.1f us/event, within noise) | | |"
          % (t1, per_event_us))
    print("| incremental fold cost per new event (= the rebuild's per-event cost) | %.2f us | | |" % (1e6 / rate))
    print("| rebuild --check (1,000 events after the snapshot) | %.2f s, identical: %s | identical | %s |"
          % (tcheck, identical, "PASS" if identical else "**FAIL**"))
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
