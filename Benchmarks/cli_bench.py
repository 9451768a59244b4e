#!/usr/bin/env python3
"""End-to-end benchmarks of the `aibrain` command line (release build), process start included.

Usage:
    python3 Benchmarks/cli_bench.py [--events 10000000] [--import-events 1000000] [--only emit,replay,tail,import]

Four figures, each timed from the harness (spawn -> exit, CLOCK_MONOTONIC via time.perf_counter_ns):

  emit    `aibrain emit TYPE --task T --data JSON --store S -o json`, one process per event, on a store
          whose open segment holds ~15 MiB (filled with `import jsonl`, checked with `stats` open_bytes).
          Target p99 <= 20 ms. Context rows: the same on an empty store, `aibrain --version`, `/bin/true`.
  replay  `aibrain replay --task T -o jsonl` of a 166-event task in an --events store (default 10M). Two
          tasks: one written for the benchmark whose 166 events are spread evenly over the whole log
          (inserted into the JSONL before import), and the generator's query task (its events lie in the
          first ~10k events). Target p99 <= 15 ms (p50 reported too). Building the store also yields the
          bulk-import throughput at that size.
  tail    `aibrain tail -f -n 0 -o jsonl` kept running; the harness emits one event at a time and records
          (time the tail's line reached the harness) - (time the emit process was reaped), matched by
          event_id. Target p99 <= 5 ms. The line can arrive before the emit process has exited
          (negative latency): that is kept as is.
  import  `aibrain import jsonl` of the generator's --import-events events (default 1M), PII gate on,
          a fresh store per run, median of --import-runs (3). Target >= 500k/s. The default policy (reject)
          is tried first; a gate whose NPI check matches digit runs inside hex ids (a2e9e47: ~0.07% of the
          generator's random event ids, the first at line 1704) refuses the whole file with exit 4: that is
          reported, and the runs then use --pii-policy warn (the same detectors over every string).
          Setup imports (the fills, the replay store) always use warn.

CPU pinning: the harness pins itself to --cpu (default 0) with sched_setaffinity, so every process it
spawns (emit, replay, import, stats) inherits exactly what `taskset -c 0` would give, without the extra
exec of taskset inside the timed region. The long-lived `tail -f` runs on the other core
(`taskset -c <other>`), and so does the harness thread that reads its output.

Workloads are cached in --work (default /tmp/aibrain-cli-bench) as events-N.jsonl (gen_events.py N ... --seed
42 --no-stats); stores go to --work/scratch-<pid>/ and are removed at the end (--keep to keep them).
Stdout: a markdown table; progress on stderr; results also in --json (default Benchmarks/cli-results.json).
Exit status: 0 whatever the timings, 2 if a correctness check failed, 1 on an error.
"""
import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_BIN = os.path.join(REPO, ".build-release", "release", "aibrain")
ROLL_BYTES = 16 << 20  # default rollBytes of a store (StoreConfig.Policies)
SPREAD_TASK = "T-SPREAD-166"
SPREAD_COUNT = 166

checks_failed = []


def log(msg):
    print("[cli_bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def now_ns():
    return time.perf_counter_ns()


def percentile(sorted_vals, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def summary_ms(samples_ns):
    s = sorted(x / 1e6 for x in samples_ns)
    r = lambda v: None if v is None else round(v, 3)
    return {
        "n": len(s), "p50_ms": r(percentile(s, 50)), "p90_ms": r(percentile(s, 90)),
        "p99_ms": r(percentile(s, 99)), "min_ms": r(s[0]), "max_ms": r(s[-1]),
        "mean_ms": r(sum(s) / len(s)),
    }


def check(ok, what):
    if not ok:
        checks_failed.append(what)
        log("CHECK FAILED: " + what)
    return ok


class CLI:
    def __init__(self, binary):
        self.bin = binary

    def cmd(self, *args):
        return [self.bin] + [str(a) for a in args]

    def run(self, *args, ok=(0,)):
        p = subprocess.run(self.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode not in ok:
            raise RuntimeError("`%s` exited %d: %s" % (" ".join(self.cmd(*args)), p.returncode,
                                                      p.stderr.decode(errors="replace").strip()))
        return p

    def run_json(self, *args):
        return json.loads(self.run(*args).stdout)

    def timed(self, argv):
        """Spawn -> reaped, stdout captured. Returns (ns, CompletedProcess)."""
        t0 = now_ns()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t1 = now_ns()
        if p.returncode != 0:
            raise RuntimeError("`%s` exited %d: %s" % (" ".join(argv[:6]), p.returncode,
                                                      p.stderr.decode(errors="replace").strip()))
        return t1 - t0, p

    def init(self, parent, name):
        os.makedirs(parent, exist_ok=True)
        store = os.path.join(parent, ".aibrain")
        self.run("init", "--store", store, "--origin", name, "-o", "json")
        return store

    def stats(self, store):
        doc = self.run_json("stats", "-o", "json", "--store", store)
        return next(o for o in doc["origins"] if o.get("local", True))


# ---------------------------------------------------------------------------------------------- workloads

def workload(args, n):
    """events-N.jsonl from gen_events.py (cached while its meta file matches). Returns (path, meta)."""
    path = os.path.join(args.work, "events-%d.jsonl" % n)
    meta_path = path + ".meta.json"
    try:
        with open(meta_path) as fh:
            meta = json.load(fh)
        if meta.get("n") == n and meta.get("seed") == 42 and os.path.getsize(path) == meta.get("bytes"):
            log("workload %s (cached)" % path)
            return path, meta
    except (OSError, ValueError):
        pass
    log("generating %d events -> %s (gen_events.py, seed 42)" % (n, path))
    t0 = now_ns()
    subprocess.run([sys.executable, args.generator, str(n), path, "--seed", "42", "--no-stats"], check=True,
                   stdout=sys.stderr)
    log("generated in %.1f s" % ((now_ns() - t0) / 1e9))
    with open(meta_path) as fh:
        return path, json.load(fh)


def write_fsynced(path, lines):
    with open(path, "wb") as fh:
        fh.writelines(lines)
        fh.flush()
        os.fsync(fh.fileno())


# ---------------------------------------------------------------------------------------------- import

def import_file(cli, path, store):
    """One setup import (fills, the replay store): --pii-policy warn, so that a binary whose gate flags the
    generator's hex event ids still loads them (for data with no finding it is the same work as reject).
    Returns (wall ns, report)."""
    ns, p = cli.timed(cli.cmd("import", "jsonl", path, "--store", store, "--pii-policy", "warn", "-o", "json"))
    return ns, json.loads(p.stdout)


def import_run(cli, path, store, policy):
    """One measured import; policy None = the command's default (reject). Returns (rc, ns, report, stderr)."""
    argv = cli.cmd("import", "jsonl", path, "--store", store, "-o", "json")
    if policy:
        argv[-2:-2] = ["--pii-policy", policy]
    t0 = now_ns()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ns = now_ns() - t0
    rep = json.loads(p.stdout) if p.returncode == 0 else None
    return p.returncode, ns, rep, p.stderr


def bench_import(cli, args, scratch, results):
    path, meta = workload(args, args.import_events)
    n = meta["n"]
    policy = None if args.pii_policy in ("auto", "reject") else args.pii_policy
    refusal = None
    runs = []
    r = 0
    while len(runs) < args.import_runs:
        parent = os.path.join(scratch, "import-%d" % r)
        r += 1
        store = cli.init(parent, "bench-import")
        # The input is read from the page cache (the generator or the previous run left it there).
        rc, ns, rep, err = import_run(cli, path, store, policy)
        if rc == 4 and policy is None:
            # The default policy refused the file: record how, then measure with the gate in warn mode.
            msg = err.decode(errors="replace").strip().splitlines()
            refusal = {"exit_status": rc, "wall_s": round(ns / 1e9, 3), "events_appended": cli.stats(store)["events"],
                       "message": msg[0] if msg else ""}
            log("import with the default --pii-policy (reject): exit 4 after %.2f s: %s" % (ns / 1e9, refusal["message"]))
            shutil.rmtree(parent)
            if args.pii_policy == "reject":
                raise RuntimeError("the PII gate refused the generator's events (--pii-policy reject)")
            policy = "warn"
            continue
        if rc != 0:
            raise RuntimeError("import exited %d: %s" % (rc, err.decode(errors="replace").strip()))
        flagged = err.count(b"aibrain: warning:")
        check(rep["events"] == n and rep["appended"] == n,
              "import run %d: %s events, %s appended, expected %d" % (len(runs), rep["events"], rep["appended"], n))
        eps = n / (ns / 1e9)
        log("import run %d (--pii-policy %s): %d events in %.2f s wall (%.2f s reported by the command) = %.0f events/s"
            % (len(runs), policy or "reject, the default", n, ns / 1e9, rep["seconds"], eps))
        runs.append({"wall_s": round(ns / 1e9, 3), "reported_s": rep["seconds"], "events_per_s": round(eps),
                     "pii_findings_let_through": flagged})
        shutil.rmtree(parent)
    by = sorted(runs, key=lambda x: x["events_per_s"])
    med = by[len(by) // 2]
    shown = policy or "reject (default)"
    results["import"] = {
        "what": "aibrain import jsonl FILE --store S -o json, policy %s (fresh store per run; the gate checks every string)"
                % shown,
        "pii_policy": shown, "default_policy_refused": refusal,
        "events": n, "input_bytes": meta["bytes"], "runs": runs,
        "median_events_per_s": med["events_per_s"],
        "median_events_per_s_reported_seconds": round(n / sorted(x["reported_s"] for x in runs)[len(runs) // 2]),
        "median_mb_per_s": round(meta["bytes"] / med["wall_s"] / 1e6, 1),
        "target_events_per_s": 500_000, "pass": med["events_per_s"] >= 500_000,
    }


# ---------------------------------------------------------------------------------------------- emit

def emit_argv(cli, store, task, i):
    data = json.dumps({"kind": "APPROACH", "value": "retry with backoff", "iteration": i,
                       "rationale": "bench emit sample %d: the flaky test suite timed out twice, so retry" % i},
                      separators=(",", ":"))
    return cli.cmd("emit", "decision.recorded", "--task", task, "--data", data, "--store", store, "-o", "json")


def fill_open_segment(cli, store, source_path, target_bytes, scratch):
    """Imports generator events until the open segment holds ~target_bytes (never past the roll size)."""
    src = open(source_path, "rb")
    chunk_path = os.path.join(scratch, "fill-chunk.jsonl")
    imported = 0
    st = cli.stats(store)
    per_event = None
    for _ in range(50):
        open_bytes = st["open_bytes"]
        if open_bytes >= target_bytes - (256 << 10):
            break
        if per_event is None:
            k = 2000
        else:
            k = max(1, int((target_bytes - open_bytes) / per_event * 0.97))
        lines = [src.readline() for _ in range(k)]
        lines = [l for l in lines if l]
        if not lines:
            raise RuntimeError("ran out of events in %s while filling the open segment" % source_path)
        write_fsynced(chunk_path, lines)
        import_file(cli, chunk_path, store)
        imported += len(lines)
        before = open_bytes
        st = cli.stats(store)
        if st["sealed_segments"] > 0:
            raise RuntimeError("the segment rolled while filling (open_bytes %d)" % st["open_bytes"])
        per_event = (st["open_bytes"] - before) / len(lines) if per_event is None else per_event
    src.close()
    os.unlink(chunk_path)
    log("filled: %d events imported, open_bytes=%d (%.2f MiB), %.0f B/event in the open segment"
        % (imported, st["open_bytes"], st["open_bytes"] / 2**20, per_event or 0))
    return imported, st


def bench_emit(cli, args, scratch, results, store):
    def series(store, task, n, warm):
        for i in range(warm):
            cli.timed(emit_argv(cli, store, task, -1 - i))
        out = []
        ids = set()
        for i in range(n):
            ns, p = cli.timed(emit_argv(cli, store, task, i))
            ack = json.loads(p.stdout)
            check(ack.get("durable") is True and ack.get("duplicate") is False, "emit ack %r" % ack)
            ids.add(ack["event_id"])
            out.append(ns)
        check(len(ids) == n, "emit: %d distinct event ids for %d emits" % (len(ids), n))
        return out

    before = cli.stats(store)
    samples = series(store, "T-CLI-EMIT", args.emit_samples, 5)
    after = cli.stats(store)
    check(after["sealed_segments"] == before["sealed_segments"], "emit: the open segment rolled during the run")
    full = summary_ms(samples)
    log("emit on a ~15 MiB open segment: p50 %.2f ms, p99 %.2f ms" % (full["p50_ms"], full["p99_ms"]))

    # Context: the same on an empty store, process start, and the harness's own spawn floor.
    empty_store = cli.init(os.path.join(scratch, "emit-empty"), "bench-emit-empty")
    empty = summary_ms(series(empty_store, "T-CLI-EMIT", args.emit_samples, 5))
    shutil.rmtree(os.path.join(scratch, "emit-empty"))
    version = summary_ms([cli.timed(cli.cmd("--version"))[0] for _ in range(args.emit_samples)])
    true_bin = shutil.which("true") or "/bin/true"
    floor = summary_ms([cli.timed([true_bin])[0] for _ in range(args.emit_samples)])
    log("emit on an empty store p50 %.2f ms; aibrain --version p50 %.2f ms; /bin/true p50 %.2f ms"
        % (empty["p50_ms"], version["p50_ms"], floor["p50_ms"]))
    results["emit"] = {
        "what": "aibrain emit decision.recorded --task T --data JSON --store S -o json, spawn -> reaped",
        "open_bytes_before": before["open_bytes"], "open_bytes_after": after["open_bytes"],
        "events_in_store_before": before["events"],
        "nearly_full": full, "empty_store": empty, "version_process": version, "bin_true_spawn": floor,
        "target_p99_ms": 20, "pass": full["p99_ms"] <= 20,
    }


# ---------------------------------------------------------------------------------------------- tail

class TailReader(threading.Thread):
    """Reads the tail's stdout with os.read and stamps each complete line when it arrives."""

    def __init__(self, fd, cpu):
        super().__init__(daemon=True)
        self.fd, self.cpu = fd, cpu
        self.arrivals = {}
        self.cond = threading.Condition()
        self.lines = 0
        self.eof = False

    def run(self):
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})  # this thread only
        buf = b""
        while True:
            chunk = os.read(self.fd, 1 << 16)
            t = now_ns()
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\n")
            got = []
            for line in complete:
                if line.strip():
                    got.append(json.loads(line).get("event_id"))
            with self.cond:
                for eid in got:
                    self.arrivals[eid] = t
                    self.lines += 1
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, eid, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while eid not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(left)
            return self.arrivals.pop(eid)


def bench_tail(cli, args, results, store, scratch):
    full = tail_series(cli, args, store, "T-CLI-TAIL")
    parent = os.path.join(scratch, "tail-empty")
    empty = tail_series(cli, args, cli.init(parent, "bench-tail-empty"), "T-CLI-TAIL")
    shutil.rmtree(parent)
    s = full["latency"]
    log("tail -f: p50 %.2f ms, p99 %.2f ms (%d of %d lines before the emit process was reaped); empty store p50 %.2f ms, p99 %.2f ms"
        % (s["p50_ms"], s["p99_ms"], full["lines_before_emit_reaped"], s["n"], empty["latency"]["p50_ms"],
           empty["latency"]["p99_ms"]))
    results["tail"] = {
        "what": "aibrain tail -f -n 0 -o jsonl --store S (long-lived, core %s); latency = line read by the harness - emit process reaped"
                % args.tail_cpu,
        **full, "empty_store": empty, "gap_between_emits_ms": args.tail_gap_ms,
        "target_p99_ms": 5, "pass": s["p99_ms"] <= 5,
    }


def tail_series(cli, args, store, task):
    other = args.tail_cpu
    argv = cli.cmd("tail", "-f", "-n", "0", "-o", "jsonl", "--store", store)
    if other is not None:
        argv = ["taskset", "-c", str(other)] + argv
    tail = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    reader = TailReader(tail.stdout.fileno(), other)
    reader.start()
    try:
        time.sleep(0.5)  # let it reach its follow loop (inotify watches installed)
        lat, after_spawn, emit_wall = [], [], []
        warm = 5
        for i in range(warm + args.tail_samples):
            t0 = now_ns()
            p = subprocess.run(emit_argv(cli, store, task, i), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            t1 = now_ns()
            if p.returncode != 0:
                raise RuntimeError("emit exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
            eid = json.loads(p.stdout)["event_id"]
            t_line = reader.wait_for(eid, 5.0)
            if not check(t_line is not None, "tail: event %s not printed within 5 s" % eid):
                break
            if i >= warm:
                lat.append(t_line - t1)
                after_spawn.append(t_line - t0)
                emit_wall.append(t1 - t0)
            time.sleep(args.tail_gap_ms / 1000.0)
    finally:
        tail.send_signal(signal.SIGTERM)
        try:
            tail.wait(10)
        except subprocess.TimeoutExpired:
            tail.kill()
            tail.wait()
        reader.join(5)
    return {"latency": summary_ms(lat), "line_minus_emit_spawn": summary_ms(after_spawn),
            "emit_wall": summary_ms(emit_wall), "lines_before_emit_reaped": sum(1 for x in lat if x < 0)}


# ---------------------------------------------------------------------------------------------- replay

def spread_line(src_line, j):
    """A copy of the generator event at that position, moved to SPREAD_TASK with an id of its own."""
    ev = json.loads(src_line)
    ev["event_id"] = "b166%028x" % j
    ev["task_id"] = SPREAD_TASK
    return (json.dumps(ev, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def build_replay_store(cli, args, scratch):
    """N generator events + 166 SPREAD_TASK events at even intervals, imported in chunks (fsynced files)."""
    path, meta = workload(args, args.events)
    n = meta["n"]
    store = cli.init(os.path.join(scratch, "replay"), "bench-replay")
    at = {int((j + 0.5) * n / SPREAD_COUNT): j for j in range(SPREAD_COUNT)}
    chunk_path = os.path.join(scratch, "replay-chunk.jsonl")
    chunks = []
    total_ns = 0
    total_reported = 0.0
    buf = []
    with open(path, "rb") as src:
        i = 0
        for line in src:
            buf.append(line)
            if i in at:
                buf.append(spread_line(line, at[i]))
            i += 1
            if i % args.chunk == 0 or i == n:
                write_fsynced(chunk_path, buf)
                ns, rep = import_file(cli, chunk_path, store)
                check(rep["appended"] == len(buf), "replay store: chunk appended %d of %d" % (rep["appended"], len(buf)))
                total_ns += ns
                total_reported += rep["seconds"]
                chunks.append({"events": len(buf), "wall_s": round(ns / 1e9, 3), "reported_s": rep["seconds"],
                               "events_per_s": round(len(buf) / (ns / 1e9))})
                log("replay store: imported %d of %d events (chunk at %.0f events/s)"
                    % (i, n, len(buf) / (ns / 1e9)))
                buf = []
    os.unlink(chunk_path)
    total = n + SPREAD_COUNT
    st = cli.stats(store)
    check(st["events"] == total, "replay store holds %d events, expected %d" % (st["events"], total))
    build = {
        "events": total, "chunks": len(chunks), "chunk_events": args.chunk,
        "import_wall_s": round(total_ns / 1e9, 2), "import_reported_s": round(total_reported, 2),
        "events_per_s": round(total / (total_ns / 1e9)),
        "first_chunk_events_per_s": chunks[0]["events_per_s"], "last_chunk_events_per_s": chunks[-1]["events_per_s"],
        "sealed_segments": st["sealed_segments"], "sealed_bytes": st["sealed_bytes"], "open_bytes": st["open_bytes"],
        "input_bytes": meta["bytes"],
    }
    log("replay store: %d events, %d sealed segments, %.2f GB sealed; import %.0f events/s overall"
        % (total, st["sealed_segments"], st["sealed_bytes"] / 1e9, build["events_per_s"]))
    return store, meta, build


def bench_replay(cli, args, scratch, results):
    store, meta, build = build_replay_store(cli, args, scratch)
    tasks = [(SPREAD_TASK, SPREAD_COUNT, "spread evenly over the whole log (inserted every ~%d events)"
              % (meta["n"] // SPREAD_COUNT)),
             (meta["query_task_id"], meta["query_task_count"], "the generator's query task (within the first ~10k events)")]
    out = {}
    for task, count, desc in tasks:
        argv = cli.cmd("replay", "--task", task, "-o", "jsonl", "--store", store)
        ns, p = cli.timed(argv)  # warm-up (and first-run time)
        lines = p.stdout.splitlines()
        check(len(lines) == count, "replay %s: %d lines, expected %d" % (task, len(lines), count))
        if task == SPREAD_TASK:
            ids = [json.loads(l)["event_id"] for l in lines]
            check(ids == ["b166%028x" % j for j in range(SPREAD_COUNT)], "replay %s: event ids not in order" % task)
        samples = []
        for _ in range(args.replay_runs):
            t, p = cli.timed(argv)
            samples.append(t)
            check(p.stdout.count(b"\n") == count, "replay %s: wrong line count" % task)
        s = summary_ms(samples)
        log("replay %s (%d events, %s): p50 %.2f ms, p99 %.2f ms (first run %.2f ms)"
            % (task, count, desc, s["p50_ms"], s["p99_ms"], ns / 1e6))
        out[task] = {"events": count, "placement": desc, "first_run_ms": round(ns / 1e6, 3),
                     "output_bytes": len(p.stdout), **s}
    # Context: one emit into this store (its open segment is small; the store is large).
    st = cli.stats(store)
    big_emit = [cli.timed(emit_argv(cli, store, "T-CLI-EMIT-BIG", i))[0] for i in range(args.replay_runs + 3)][3:]
    big = summary_ms(big_emit)
    big["open_bytes"] = st["open_bytes"]
    log("emit into the %d-event store (open segment %d B): p50 %.2f ms, p99 %.2f ms"
        % (st["events"], st["open_bytes"], big["p50_ms"], big["p99_ms"]))
    spread = out[SPREAD_TASK]
    results["replay"] = {
        "what": "aibrain replay --task T -o jsonl --store S, spawn -> reaped, stdout through a pipe",
        "store": build, "tasks": out, "emit_into_this_store": big,
        "target_ms": 15, "pass_p50": spread["p50_ms"] <= 15, "pass_p99": spread["p99_ms"] <= 15,
    }
    if not args.keep:
        shutil.rmtree(os.path.dirname(store))


# ---------------------------------------------------------------------------------------------- report

def fs_type(path):
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", path], stdout=subprocess.PIPE,
                             text=True).stdout.split()
        return {"source": out[0], "fstype": out[1]}
    except (OSError, IndexError):
        return {}


def fmt_ms(d):
    return "%.2f / %.2f ms" % (d["p50_ms"], d["p99_ms"])


def report(results, method):
    rows = []
    if "emit" in results:
        e = results["emit"]
        rows.append(("emit, open segment %.1f MiB" % (e["open_bytes_before"] / 2**20), "p50 / p99",
                     fmt_ms(e["nearly_full"]), "p99 ≤ 20 ms", e["pass"]))
        rows.append(("emit, empty store (context)", "p50 / p99", fmt_ms(e["empty_store"]), "", None))
        rows.append(("aibrain --version (process start)", "p50 / p99", fmt_ms(e["version_process"]), "", None))
        rows.append(("/bin/true (harness spawn floor)", "p50 / p99", fmt_ms(e["bin_true_spawn"]), "", None))
    if "replay" in results:
        r = results["replay"]
        for task, t in r["tasks"].items():
            primary = task == SPREAD_TASK
            rows.append(("replay %s (%d events, %s), %s-event store" % (task, t["events"], "spread" if primary else "clustered",
                                                                      "{:,}".format(r["store"]["events"])),
                         "p50 / p99", fmt_ms(t), "≤ 15 ms" if primary else "",
                         ("%s / %s" % tuple("PASS" if x else "MISS" for x in (r["pass_p50"], r["pass_p99"]))) if primary else None))
        b = r["store"]
        rows.append(("import jsonl while building it (%d chunks)" % b["chunks"], "events/s",
                     "{:,}/s (first chunk {:,}/s, last {:,}/s)".format(b["events_per_s"], b["first_chunk_events_per_s"],
                                                                     b["last_chunk_events_per_s"]), "", None))
        rows.append(("emit into that store (open segment %d KiB; context)" % (r["emit_into_this_store"]["open_bytes"] // 1024),
                     "p50 / p99", fmt_ms(r["emit_into_this_store"]), "", None))
    if "tail" in results:
        t = results["tail"]
        rows.append(("tail -f, open segment ~15 MiB: line printed − emit returned", "p50 / p99", fmt_ms(t["latency"]), "p99 ≤ 5 ms", t["pass"]))
        rows.append(("tail -f: line printed − emit spawned (context)", "p50 / p99", fmt_ms(t["line_minus_emit_spawn"]), "", None))
        rows.append(("tail -f, empty store: line printed − emit returned (context)", "p50 / p99",
                     fmt_ms(t["empty_store"]["latency"]), "", None))
    if "import" in results:
        i = results["import"]
        rows.append(("import jsonl, %s events, PII gate on (--pii-policy %s)" % ("{:,}".format(i["events"]), i["pii_policy"]),
                     "events/s (median of %d)" % len(i["runs"]), "{:,}/s".format(i["median_events_per_s"]), "≥ 500,000/s",
                     i["pass"]))
        pr = i["default_policy_refused"]
        if pr:
            rows.append(("import jsonl, same file, default --pii-policy reject", "outcome",
                         "refused: exit %d after %.2f s, %d appended" % (pr["exit_status"], pr["wall_s"], pr["events_appended"]),
                         "", None))
    print("Method: " + "; ".join("%s %s" % (k, v) for k, v in method.items() if k != "command"))
    print()
    print("| figure | metric | measured | target | |")
    print("|---|---|---:|---|---|")
    for name, metric, val, target, ok in rows:
        verdict = "" if ok is None else ok if isinstance(ok, str) else ("PASS" if ok else "MISS")
        print("| %s | %s | %s | %s | %s |" % (name, metric, val, target, verdict))
    if checks_failed:
        print()
        print("Correctness checks failed: " + "; ".join(checks_failed))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=DEFAULT_BIN, help="the release aibrain binary (default: %(default)s)")
    ap.add_argument("--events", type=int, default=10_000_000, help="events in the replay store (default 10M)")
    ap.add_argument("--import-events", type=int, default=1_000_000, help="events for the import figure (default 1M)")
    ap.add_argument("--import-runs", type=int, default=3)
    ap.add_argument("--emit-samples", type=int, default=200)
    ap.add_argument("--replay-runs", type=int, default=50)
    ap.add_argument("--tail-samples", type=int, default=200)
    ap.add_argument("--tail-gap-ms", type=float, default=5.0, help="pause between two tail samples")
    ap.add_argument("--fill-mib", type=float, default=15.0, help="open segment fill before the emit/tail figures")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="events per import when building the replay store")
    ap.add_argument("--only", default="emit,tail,import,replay", help="comma-separated subset of emit,tail,import,replay")
    ap.add_argument("--work", default="/tmp/aibrain-cli-bench")
    ap.add_argument("--generator", default=os.path.join(HERE, "gen_events.py"))
    ap.add_argument("--json", default=os.path.join(HERE, "cli-results.json"))
    ap.add_argument("--cpu", type=int, default=0, help="core for the harness and the processes it times (-1: no pinning)")
    ap.add_argument("--keep", action="store_true", help="keep the stores")
    ap.add_argument("--pii-policy", default="auto", choices=["auto", "reject", "warn"],
                    help="policy of the measured import (default auto: the command's default, reject; if it refuses "
                         "the generator's file, that is reported and the runs use warn, which runs the same gate). "
                         "Setup imports always use warn")
    args = ap.parse_args()
    only = set(x.strip() for x in args.only.split(",") if x.strip())
    unknown = only - {"emit", "tail", "import", "replay"}
    if unknown:
        ap.error("unknown --only names: %s" % ",".join(sorted(unknown)))
    if not os.access(args.bin, os.X_OK):
        ap.error("%s is missing: build it with `swift build -c release --product aibrain --scratch-path %s`"
                 % (args.bin, os.path.join(REPO, ".build-release")))
    cpus = sorted(os.sched_getaffinity(0))
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})  # inherited by every child: same as `taskset -c CPU`
        others = [c for c in cpus if c != args.cpu]
        args.tail_cpu = others[0] if others else None
    else:
        args.tail_cpu = None
    os.makedirs(args.work, exist_ok=True)
    scratch = os.path.join(args.work, "scratch-%d" % os.getpid())
    os.makedirs(scratch)
    cli = CLI(args.bin)
    version = cli.run("--version").stdout.decode().strip()
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "Sources"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip() != ""
    built = os.path.getmtime(args.bin)
    newer = [f for f in [os.path.join(REPO, "Package.swift")] + [os.path.join(d, n) for d, _, ns in os.walk(os.path.join(REPO, "Sources")) for n in ns]
             if os.path.getmtime(f) > built]
    if newer:
        log("warning: %d source files are newer than %s (e.g. %s): the binary may be stale; rebuild it"
            % (len(newer), args.bin, os.path.relpath(newer[0], REPO)))
    method = {
        "binary": "%s (%s, built %s)" % (os.path.relpath(args.bin, REPO), version,
                                         _dt.datetime.fromtimestamp(built, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
        "sources newer than the binary": len(newer),
        "checkout": commit + (" + uncommitted Sources changes" if dirty else ""),
        "pinning": ("harness and timed processes on CPU %d (sched_setaffinity, inherited = taskset -c %d); tail -f on CPU %s"
                    % (args.cpu, args.cpu, args.tail_cpu)) if args.cpu >= 0 else "none",
        "nproc": os.cpu_count(), "kernel": platform.release(),
        "work dir": "%s (%s)" % (args.work, "/".join(fs_type(args.work).values())),
        "repo fs": "/".join(fs_type(REPO).values()),
        "load average at start": "%.2f %.2f %.2f" % os.getloadavg(),
        "percentiles": "linear interpolation between closest ranks",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.relpath(sys.argv[0], REPO) if os.path.isabs(sys.argv[0]) else sys.argv[0]] + sys.argv[1:]),
    }
    results = {}
    try:
        if "emit" in only or "tail" in only:
            path, _ = workload(args, args.import_events)
            store = cli.init(os.path.join(scratch, "emit"), "bench-emit")
            fill_open_segment(cli, store, path, int(args.fill_mib * 2**20), scratch)
            if "emit" in only:
                bench_emit(cli, args, scratch, results, store)
            if "tail" in only:
                bench_tail(cli, args, results, store, scratch)
            st = cli.stats(store)
            check(st["sealed_segments"] == 0, "the emit store rolled (open_bytes %d)" % st["open_bytes"])
            results["fill"] = {"open_bytes_at_end": st["open_bytes"], "sealed_segments_at_end": st["sealed_segments"]}
            if not args.keep:
                shutil.rmtree(os.path.join(scratch, "emit"))
        if "import" in only:
            bench_import(cli, args, scratch, results)
        if "replay" in only:
            bench_replay(cli, args, scratch, results)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    method["load average at end"] = "%.2f %.2f %.2f" % os.getloadavg()
    report(results, method)
    doc = {"method": method, "results": results, "checks_failed": checks_failed}
    with open(args.json, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    log("wrote %s" % args.json)
    return 2 if checks_failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        log("error: %s" % e)
        sys.exit(1)
