#!/usr/bin/env python3
"""Shipping benchmark: `ship push` + `ship adopt` of the generator's events between two local stores over the
real rsync (segments/s, MB/s, events/s), `ship pull`, a push with nothing new, and the time from `ship push`
to the event visible in the peer's `replay`.

Usage: python3 Benchmarks/ship_bench.py [--events 1000000] [--runs 3] [--segment-events 10000]
                                        [--latency-runs 10] [--binary PATH] [--work DIR] [--no-pin]

Setup (untimed): store A (`init --origin bench-a`) imports the events in chunks of --segment-events, one
`import jsonl -` process per chunk with A's roll_bytes lowered to 64 KiB meanwhile, so that every chunk (one
import transaction) rolls into its own sealed segment; then `seal`, and roll_bytes is put back. (Lowering
roll_bytes alone does not do it: import rolls only between its transactions of up to 50,000 events.)

Each cold run ships everything to a fresh store B: `ship push DIR_B -o json` in A, then `ship adopt -o json`
in B, each a process timed spawn to exit. A's segments are in the page cache (just written); rsync writes
B's with --fsync. Every aibrain process is pinned to CPU 0 with taskset, and so are the rsync processes it
spawns (they inherit the affinity): the transfer figures are one-core figures (--no-pin lets them float).
The run fails (exit 1) unless every segment and event arrived, B's `ship status DIR_A` says in sync,
`verify` passes in B, and every latency sample's event is in B's replay. There are no timing targets.
Results go to Benchmarks/ship-results.json.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PIN = "--no-pin" not in sys.argv
IMPORT_ROLL_BYTES = 64 << 10


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def run(cmd, cwd, stdin=None, pin=True, check=True):
    """Runs a command to completion; returns (stdout, wall seconds) (with check=False: and the exit status)."""
    if pin and PIN and os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(stdin)
    seconds = time.perf_counter() - start
    if not check:
        return out.decode(), seconds, p.returncode
    if p.returncode != 0:
        sys.stderr.write(err.decode())
        raise SystemExit("%s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return out.decode(), seconds


def run_json(cmd, cwd):
    out, seconds = run(cmd + ["-o", "json"], cwd)
    return json.loads(out), seconds


def p90(values):
    s = sorted(values)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def set_roll_bytes(store_dir, value):
    """Rewrites policies.roll_bytes in store.json (every other field kept); returns the previous value."""
    path = os.path.join(store_dir, ".aibrain", "store.json")
    with open(path) as f:
        config = json.load(f)
    previous = config["policies"]["roll_bytes"]
    config["policies"]["roll_bytes"] = value
    with open(path + ".tmp", "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    os.rename(path + ".tmp", path)
    return previous


def fresh_store(binary, path, origin):
    subprocess.call(["rm", "-rf", path])
    os.makedirs(path)
    run([binary, "init", "--origin", origin], path, pin=False)


def local_origin(status):
    return next(o for o in status["origins"] if o["local"])


def main():
    events = int(arg("--events", "1000000"))
    runs = int(arg("--runs", "3"))
    segment_events = int(arg("--segment-events", "10000"))
    latency_runs = int(arg("--latency-runs", "10"))
    noop_runs = 5
    work = arg("--work", "/tmp/aibrain-ship-bench")
    binary = os.path.abspath(arg("--binary", os.path.join(ROOT, ".build-release", "release", "aibrain")))
    if not os.path.exists(binary):
        raise SystemExit("no release binary at %s (make bench-ship builds it)" % binary)
    if not 1000 <= segment_events <= 50000:
        raise SystemExit("--segment-events must be 1000..50000 (import commits at most 50,000 events at a time)")
    build = "debug" if "/debug/" in binary else "release"
    os.makedirs(work, exist_ok=True)
    workload = os.path.join(work, "events-%d.jsonl" % events)
    if not os.path.exists(workload):
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_events.py"), str(events), workload, "--no-stats"])
    rsync_version = subprocess.run(["rsync", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print("%s binary %s; %s; %s; nproc %d" % (build, binary, rsync_version.strip(),
          "aibrain and its rsync children pinned to CPU 0 (taskset -c 0)" if PIN else "not pinned", os.cpu_count()),
          flush=True)

    # Setup (untimed): store A, one sealed segment per chunk of segment_events. Rebuilt every time: the
    # latency samples below add segments to A.
    dir_a = os.path.join(work, "a")
    fresh_store(binary, dir_a, "bench-a")
    roll_bytes = set_roll_bytes(dir_a, IMPORT_ROLL_BYTES)
    print("importing %d events into A in chunks of %d (untimed) ..." % (events, segment_events), flush=True)
    with open(workload, "rb") as f:
        chunk = []
        for line in f:
            chunk.append(line)
            if len(chunk) == segment_events:
                run([binary, "import", "jsonl", "-"], dir_a, stdin=b"".join(chunk), pin=False)
                chunk = []
        if chunk:
            run([binary, "import", "jsonl", "-"], dir_a, stdin=b"".join(chunk), pin=False)
    run([binary, "seal"], dir_a, pin=False)
    set_roll_bytes(dir_a, roll_bytes)
    a_status, _ = run_json([binary, "ship", "status"], dir_a)
    a_origin = local_origin(a_status)
    a_segments, a_events, a_bytes = a_origin["segments"], a_origin["events"], a_origin["bytes"]
    print("A: %d sealed segments, %d events, %d bytes (%.1f MiB, %.2f MiB per segment); roll_bytes back to %d"
          % (a_segments, a_events, a_bytes, a_bytes / 2**20, a_bytes / 2**20 / max(1, a_segments), roll_bytes),
          flush=True)

    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)
            print("  CHECK FAILED: " + what, flush=True)

    expect(a_events == events, "A holds %d sealed events, expected %d" % (a_events, events))

    # Cold ship: everything to a fresh B, push then adopt.
    cold = []
    dir_b = None
    for i in range(runs):
        if dir_b:
            subprocess.call(["rm", "-rf", dir_b])
        dir_b = os.path.join(work, "b-%d" % (i + 1))
        fresh_store(binary, dir_b, "bench-b")
        push, t_push = run_json([binary, "ship", "push", dir_b], dir_a)
        adopt, t_adopt = run_json([binary, "ship", "adopt"], dir_b)
        cold.append({"push_seconds": t_push, "push_internal_ms": push["milliseconds"], "adopt_seconds": t_adopt,
                     "segments": push["segments_sent"], "bytes": push["bytes_sent"], "adopted": adopt["adopted"],
                     "adopted_events": adopt["adopted_events"]})
        total = t_push + t_adopt
        print("cold run %d: push %d segments, %.1f MB in %.3f s (%d ms inside; %.0f segments/s, %.1f MB/s); "
              "adopt %d segments, %d events in %.3f s (%.0f segments/s, %.1f MB/s, %.0f events/s); "
              "end to end %.3f s (%.1f MB/s, %.0f events/s)"
              % (i + 1, push["segments_sent"], push["bytes_sent"] / 1e6, t_push, push["milliseconds"],
                 push["segments_sent"] / t_push, push["bytes_sent"] / 1e6 / t_push, adopt["adopted"],
                 adopt["adopted_events"], t_adopt, adopt["adopted"] / t_adopt, push["bytes_sent"] / 1e6 / t_adopt,
                 adopt["adopted_events"] / t_adopt, total, push["bytes_sent"] / 1e6 / total,
                 adopt["adopted_events"] / total), flush=True)
        expect(push["segments_sent"] == a_segments and push["bytes_sent"] == a_bytes,
               "cold run %d: push sent %d segments / %d bytes, A holds %d / %d"
               % (i + 1, push["segments_sent"], push["bytes_sent"], a_segments, a_bytes))
        expect(adopt["adopted"] == a_segments and adopt["adopted_events"] == a_events,
               "cold run %d: adopted %d segments / %d events, A's sealed segments hold %d / %d"
               % (i + 1, adopt["adopted"], adopt["adopted_events"], a_segments, a_events))
        bad = {k: adopt[k] for k in ("forks", "corrupt", "waiting", "partial_transfers") if adopt[k]}
        expect(not bad, "cold run %d: adoption reported %s" % (i + 1, bad))

    # Checks on the last B (kept for the no-op and latency figures).
    status_b, t_status = run_json([binary, "ship", "status", dir_a], dir_b)
    in_sync = bool(status_b["peers"]) and status_b["peers"][0]["in_sync"]
    expect(in_sync, "B's `ship status A` does not say in sync: %s"
           % (status_b["peers"][0]["summary"] if status_b["peers"] else "no peer"))
    b_origin = next((o for o in status_b["origins"] if o["origin"] == a_origin["origin"]), None)
    expect(b_origin is not None and b_origin["events"] == a_events and b_origin["segments"] == a_segments,
           "B holds %s of A's origin, A holds %d segments / %d events"
           % ("nothing" if b_origin is None else "%d segments / %d events" % (b_origin["segments"], b_origin["events"]),
              a_segments, a_events))
    _, t_verify, verify_rc = run([binary, "verify"], dir_b, check=False)
    expect(verify_rc == 0, "`aibrain verify` in B exited %d" % verify_rc)
    print("B: ship status A: in sync %s (%.3f s); verify exit %d (%.3f s)" % (in_sync, t_status, verify_rc, t_verify),
          flush=True)

    # Pull: fetch and adopt in one command, into a fresh C.
    pulls = []
    for i in range(runs):
        dir_c = os.path.join(work, "c-%d" % (i + 1))
        fresh_store(binary, dir_c, "bench-c")
        pull, t_pull = run_json([binary, "ship", "pull", dir_a], dir_c)
        adoption = pull["adoption"]
        pulls.append({"seconds": t_pull, "internal_ms": pull["milliseconds"], "segments": pull["segments_fetched"],
                      "bytes": pull["bytes_fetched"], "adopted_events": adoption["adopted_events"]})
        print("pull run %d: %d segments, %.1f MB fetched and %d events adopted in %.3f s (%d ms inside; "
              "%.0f segments/s, %.1f MB/s, %.0f events/s)"
              % (i + 1, pull["segments_fetched"], pull["bytes_fetched"] / 1e6, adoption["adopted_events"], t_pull,
                 pull["milliseconds"], pull["segments_fetched"] / t_pull, pull["bytes_fetched"] / 1e6 / t_pull,
                 adoption["adopted_events"] / t_pull), flush=True)
        expect(pull["segments_fetched"] == a_segments and adoption["adopted"] == a_segments
               and adoption["adopted_events"] == a_events,
               "pull run %d: fetched %d segments, adopted %d / %d events; A holds %d / %d"
               % (i + 1, pull["segments_fetched"], adoption["adopted"], adoption["adopted_events"], a_segments,
                  a_events))
        subprocess.call(["rm", "-rf", dir_c])

    # Nothing new: a cron pair (push in A, adopt in B) against an in-sync B.
    noop_push, noop_adopt = [], []
    for i in range(noop_runs):
        push, t_push = run_json([binary, "ship", "push", dir_b], dir_a)
        adopt, t_adopt = run_json([binary, "ship", "adopt"], dir_b)
        noop_push.append(t_push)
        noop_adopt.append(t_adopt)
        expect(push["segments_sent"] == 0 and adopt["adopted"] == 0,
               "no-op run %d: push sent %d segments, adopt adopted %d" % (i + 1, push["segments_sent"], adopt["adopted"]))
    print("nothing new: push %.3f s, adopt %.3f s (medians of %d)"
          % (statistics.median(noop_push), statistics.median(noop_adopt), noop_runs), flush=True)

    # Latency: one new event in A, then push --seal --force, adopt in B, replay in B until it is printed.
    lat = []
    for n in range(1, latency_runs + 1):
        _, t_emit = run([binary, "emit", "task.note", "--task", "BENCH-LAT", "--data", json.dumps({"n": n})], dir_a)
        push, t_push = run_json([binary, "ship", "push", dir_b, "--seal", "--force"], dir_a)
        adopt, t_adopt = run_json([binary, "ship", "adopt"], dir_b)
        out, t_replay = run([binary, "replay", "--task", "BENCH-LAT", "-o", "jsonl"], dir_b)
        seen = [json.loads(l).get("data", {}).get("n") for l in out.splitlines() if l.strip()]
        visible = n in seen
        total = t_push + t_adopt + t_replay
        lat.append({"emit": t_emit, "push": t_push, "adopt": t_adopt, "replay": t_replay, "total": total,
                    "visible": visible, "bytes": push["bytes_sent"]})
        print("latency %d: push --seal %.1f ms (%d segment, %d B) + adopt %.1f ms + replay %.1f ms = %.1f ms; "
              "event n=%d in replay: %s (emit %.1f ms, not counted)"
              % (n, t_push * 1e3, push["segments_sent"], push["bytes_sent"], t_adopt * 1e3, t_replay * 1e3, total * 1e3,
                 n, visible, t_emit * 1e3), flush=True)
        sealed = push["sealed"] or {}
        expect(sealed.get("action") == "sealed" and sealed.get("events") == 1 and push["segments_sent"] == 1,
               "latency %d: push --seal --force sealed %s and sent %d segments" % (n, sealed, push["segments_sent"]))
        expect(adopt["adopted"] == 1 and adopt["adopted_events"] == 1,
               "latency %d: adopt adopted %d segments / %d events" % (n, adopt["adopted"], adopt["adopted_events"]))
        expect(visible and len(seen) == n, "latency %d: B's replay of BENCH-LAT printed n=%s" % (n, seen))

    def med(key, rows):
        return statistics.median(r[key] for r in rows)

    push_s, adopt_s = med("push_seconds", cold), med("adopt_seconds", cold)
    e2e_s = statistics.median(r["push_seconds"] + r["adopt_seconds"] for r in cold)
    pull_s = med("seconds", pulls)
    mb = a_bytes / 1e6

    def rates(seconds):
        return {"seconds": round(seconds, 3), "segments_per_second": round(a_segments / seconds, 1),
                "mb_per_second": round(mb / seconds, 1), "events_per_second": round(a_events / seconds)}

    lat_total = [r["total"] for r in lat]
    result = {
        "build": build, "binary": binary, "pinned_cpu0": PIN, "rsync": rsync_version.strip(), "nproc": os.cpu_count(),
        "events": a_events, "segments": a_segments, "bytes": a_bytes, "segment_events": segment_events, "runs": runs,
        "cold": {
            "push": dict(rates(push_s), internal_ms_median=med("push_internal_ms", cold)),
            "adopt": rates(adopt_s), "push_plus_adopt": rates(e2e_s), "runs": cold,
        },
        "pull": dict(rates(pull_s), internal_ms_median=med("internal_ms", pulls), runs=pulls),
        "nothing_new": {"push_seconds_median": round(statistics.median(noop_push), 4),
                        "adopt_seconds_median": round(statistics.median(noop_adopt), 4), "runs": noop_runs},
        "latency": {
            "samples": latency_runs,
            "push_to_visible_ms_median": round(statistics.median(lat_total) * 1e3, 1),
            "push_to_visible_ms_p90": round(p90(lat_total) * 1e3, 1),
            "push_seal_ms_median": round(med("push", lat) * 1e3, 1),
            "adopt_ms_median": round(med("adopt", lat) * 1e3, 1),
            "replay_ms_median": round(med("replay", lat) * 1e3, 1),
            "emit_ms_median": round(med("emit", lat) * 1e3, 1),
        },
        "checks": {"in_sync": in_sync, "verify_exit": verify_rc, "verify_seconds": round(t_verify, 3)},
        "failures": failures,
    }
    with open(os.path.join(HERE, "ship-results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)

    print()
    print("%s build; %s events in %d sealed segments, %.1f MB (%.2f MiB per segment); medians of %d runs%s"
          % (build, format(a_events, ","), a_segments, mb, a_bytes / 2**20 / max(1, a_segments), runs,
             "; aibrain and rsync pinned to CPU 0" if PIN else ""))
    print("| figure | time | segments/s | MB/s | events/s |")
    print("|---|---:|---:|---:|---:|")
    for label, s in (("`ship push` to a fresh store (cold)", push_s), ("`ship adopt` of everything that arrived", adopt_s),
                     ("push + adopt, end to end", e2e_s), ("`ship pull` into a fresh store (fetch + adopt)", pull_s)):
        r = rates(s)
        print("| %s | %.3f s | %s | %.1f | %s |" % (label, s, format(round(r["segments_per_second"]), ","),
                                                     r["mb_per_second"], format(r["events_per_second"], ",")))
    print("| `ship push` with nothing new (in-sync peer) | %.1f ms | | | |" % (statistics.median(noop_push) * 1e3))
    print("| `ship adopt` with nothing new | %.1f ms | | | |" % (statistics.median(noop_adopt) * 1e3))
    L = result["latency"]
    print("| push -> visible in the peer's `replay`, median / p90 of %d | %.1f / %.1f ms | | | |"
          % (latency_runs, L["push_to_visible_ms_median"], L["push_to_visible_ms_p90"]))
    print("| of which `ship push --seal --force` / `ship adopt` / `replay --task` (medians) | %.1f / %.1f / %.1f ms | | | |"
          % (L["push_seal_ms_median"], L["adopt_ms_median"], L["replay_ms_median"]))
    print("| checks: all segments and events adopted, `ship status` in sync, `verify` in B | %s | | | |"
          % ("PASS" if not failures else "**FAIL**"))
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
