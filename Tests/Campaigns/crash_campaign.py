#!/usr/bin/env python3
"""Process-level crash campaign for aibrain (make crash-campaign; a short run is part of make test).

kill mode: E concurrent `aibrain emit --stream` writers, a `tail -f --cursor-file` auditor and a shipper
(`ship push --seal --force` to a peer, then `ship adopt` there, in a loop) run against one store while the
campaign SIGKILLs one of them (or all at once) at random intervals and restarts it. Each writer resubmits the
lines that were in flight when it was killed, with the same event ids. At the end every process is killed
once more, the writers' last in-flight lines are resubmitted, and the campaign checks:
  - every acknowledged event (ack line with "durable":true) is in the log exactly once; no event is in the log
    that was never submitted (no phantom); `verify` exits 0 in both repositories;
  - the tail delivered only events that are in the log, in LSN order per run, and the union of its runs has
    no gap (every event up to the last delivered one was delivered); duplicates across restarts are counted
    (the cursor is saved after the output, so a kill in between re-delivers; consumers dedupe on event_id);
  - the peer holds a byte-identical copy of every sealed segment of the store, and nothing was quarantined.

fsync mode: the writers run under an LD_PRELOAD shim (fsyncfail.c) that fails a random share of fsync and
fdatasync calls on .open segments with EIO and writes a FSYNCFAIL marker on stdout before the failing call
returns. Checks: after each marker the next ack line of that writer is an error (the group whose fsync failed
is never acknowledged), every acknowledged event is in the log exactly once after the run, verify exits 0.

Prints the figures, writes them as JSON with --json, exits 1 on any violation.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--aibrain", required=True)
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--emitters", type=int, default=3)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--rate", type=int, default=300, help="lines per second per writer (about)")
ap.add_argument("--mode", choices=["kill", "fsync"], default="kill")
ap.add_argument("--shim", help="fsyncfail.so (fsync mode)")
ap.add_argument("--fault-percent", type=int, default=4)
ap.add_argument("--json", help="write the figures here")
ap.add_argument("--keep", action="store_true", help="keep the work directory")
args = ap.parse_args()
rng = random.Random(args.seed)
A = os.path.abspath(args.aibrain)
work = tempfile.mkdtemp(prefix="aibrain-campaign-")
repo, peer = os.path.join(work, "repo"), os.path.join(work, "peer")
# A private copy of the binary: a rebuild during a long campaign must not swap it underneath (ETXTBSY).
shutil.copy2(A, os.path.join(work, "aibrain"))
A = os.path.join(work, "aibrain")
os.makedirs(repo)
os.makedirs(peer)
base_env = dict(os.environ, AIBRAIN_ACTOR="campaign", AIBRAIN_TEAM="dev", AIBRAIN_QUIET="1")
violations = []


def run(cmd, cwd, check=True, env=None):
    p = subprocess.run(cmd, cwd=cwd, env=env or base_env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"campaign: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}\n"
                         f"  work directory kept: {work}")
    return p


run([A, "init", "--origin", "campaign"], repo)
run([A, "init", "--origin", "peer"], peer)


class Victim:
    """A process the campaign kills: it runs in its own session, so SIGKILL reaches its children too."""
    proc = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Emitter(Victim):
    """One writer slot: an `emit --stream` process fed from a thread, its acks read by another."""

    def __init__(self, slot):
        self.slot = slot
        self.next = 0
        self.pending = {}  # id -> line, not yet acknowledged (resubmitted after a kill), in submission order
        self.acked = set()
        self.refused = set()
        self.submitted = set()
        self.markers = 0
        self.marker_violations = 0
        self.proc = None
        self.lock = threading.Lock()
        self.restarts = 0

    def line(self, eid, n):
        pad = "x" * rng.randint(0, 300)
        return json.dumps({"event_id": eid, "type": "task.note", "stream": f"task/T-{self.slot}-{n % 7}",
                           "actor": f"agent-{self.slot}", "team": "dev", "data": {"n": n, "pad": pad}}) + "\n"

    def start(self):
        env = dict(base_env)
        if args.mode == "fsync":
            env.update(LD_PRELOAD=os.path.abspath(args.shim), FSYNCFAIL_PERCENT=str(args.fault_percent),
                       FSYNCFAIL_SEED=str(args.seed * 1000 + self.slot * 100 + self.restarts))
        self.proc = subprocess.Popen([A, "emit", "--stream"], cwd=repo, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        self.restarts += 1
        proc = self.proc
        with self.lock:
            resend = list(self.pending.values())
        threading.Thread(target=self.feed, args=(proc, resend), daemon=True).start()
        threading.Thread(target=self.read, args=(proc,), daemon=True).start()

    def feed(self, proc, resend):
        try:
            for text in resend:
                proc.stdin.write(text.encode())
            proc.stdin.flush()
            while proc.poll() is None and not stopping.is_set():
                burst = rng.randint(1, 9)
                with self.lock:
                    lines = []
                    for _ in range(burst):
                        self.next += 1
                        eid = f"c{args.seed}-e{self.slot}-{self.next}"
                        text = self.line(eid, self.next)
                        self.pending[eid] = text
                        self.submitted.add(eid)
                        lines.append(text)
                proc.stdin.write("".join(lines).encode())
                proc.stdin.flush()
                time.sleep(rng.random() * 10 / args.rate)
        except (BrokenPipeError, ValueError, OSError):
            pass

    def read(self, proc):
        after_marker = False
        for raw in proc.stdout:
            text = raw.decode(errors="replace").strip()
            if text.startswith("FSYNCFAIL "):
                self.markers += 1
                after_marker = True
                continue
            try:
                ack = json.loads(text)
            except ValueError:
                continue
            with self.lock:
                if "error" in ack:
                    after_marker = False
                    # A refused line is not acknowledged: it stays pending and is resubmitted by the next run.
                    continue
                eid = ack.get("event_id")
                if after_marker:
                    self.marker_violations += 1
                    violations.append(f"emitter {self.slot}: {eid} acknowledged right after a failed fsync")
                    after_marker = False
                if ack.get("durable") is True and eid:
                    self.acked.add(eid)
                    self.pending.pop(eid, None)



class Tail(Victim):
    def __init__(self):
        self.runs = []
        self.proc = None

    def start(self):
        path = os.path.join(work, f"tail-{len(self.runs)}.jsonl")
        self.runs.append(path)
        out = open(path, "wb")
        self.proc = subprocess.Popen([A, "tail", "-f", "-o", "jsonl", "--cursor-file", "audit.cursor"], cwd=repo,
                                     env=base_env, stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
        out.close()



class Shipper(Victim):
    def __init__(self):
        self.proc = None

    def start(self):
        script = (f'while true; do "{A}" ship push ../peer --seal --force >/dev/null 2>&1; '
                  f'(cd ../peer && "{A}" ship adopt >/dev/null 2>&1); sleep 0.3; done')
        self.proc = subprocess.Popen(["bash", "-c", script], cwd=repo, env=base_env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)



stopping = threading.Event()
emitters = [Emitter(i) for i in range(args.emitters)]
tail, shipper = Tail(), Shipper()
for e in emitters:
    e.start()
if args.mode == "kill":
    tail.start()
    shipper.start()
kills = {"emitter": 0, "tail": 0, "shipper": 0, "all": 0}
start = time.time()
while time.time() - start < args.seconds:
    time.sleep(0.05 + rng.random() * 0.6)
    if args.mode == "fsync":
        # Writers that stopped (a failed fsync can end a run) are restarted, resubmitting what is pending.
        for e in emitters:
            if e.proc.poll() is not None:
                e.start()
        continue
    r = rng.random()
    if r < 0.1:
        for e in emitters:
            e.kill()
        tail.kill()
        shipper.kill()
        kills["all"] += 1
        for e in emitters:
            e.start()
        tail.start()
        shipper.start()
    elif r < 0.75:
        e = rng.choice(emitters)
        e.kill()
        kills["emitter"] += 1
        e.start()
    elif r < 0.9:
        tail.kill()
        kills["tail"] += 1
        tail.start()
    else:
        shipper.kill()
        kills["shipper"] += 1
        shipper.start()

phase_start = time.time()


def phase(name):
    global phase_start
    now = time.time()
    print(f"  [{name}: {now - phase_start:.1f} s]", file=sys.stderr)
    phase_start = now


# The last crash: everything killed at once, then the writers' retries finish what was in flight.
stopping.set()
for e in emitters:
    e.kill()
tail.kill()
shipper.kill()
for e in emitters:
    with e.lock:
        resend = "".join(e.pending.values())
    p = subprocess.run([A, "emit", "--stream"], cwd=repo, env=base_env, input=resend.encode(), capture_output=True)
    for raw in p.stdout.decode().splitlines():
        ack = json.loads(raw)
        if ack.get("durable") is True:
            e.acked.add(ack["event_id"])
        elif "error" in ack:
            violations.append(f"final retry of emitter {e.slot} refused a line: {ack['error']}")

phase("final retries")
# The log, as every command reads it.
export = run([A, "export", "jsonl"], repo).stdout.splitlines()
events = [json.loads(x) for x in export]
count = {}
for ev in events:
    count[ev["event_id"]] = count.get(ev["event_id"], 0) + 1
acked = set().union(*(e.acked for e in emitters))
submitted = set().union(*(e.submitted for e in emitters))
lost = [i for i in acked if count.get(i, 0) == 0]
duplicated = [i for i, n in count.items() if n > 1]
phantom = [i for i in count if i not in submitted]
violations += [f"acknowledged {i} lost" for i in lost[:5]] + [f"{i} stored {count[i]} times" for i in duplicated[:5]]
violations += [f"phantom event {i}" for i in phantom[:5]]
verify = run([A, "verify"], repo, check=False)
if verify.returncode != 0:
    violations.append(f"verify exited {verify.returncode}: {verify.stdout[-400:]} {verify.stderr[-400:]}")

phase("export and verify")
figures = {"mode": args.mode, "seconds": args.seconds, "emitters": args.emitters, "seed": args.seed,
           "acknowledged": len(acked), "submitted": len(submitted), "stored": len(events), "lost": len(lost),
           "duplicated": len(duplicated), "phantom": len(phantom)}

if args.mode == "kill":
    figures["kills"] = kills
    figures["kill_count"] = sum(kills.values()) + 1
    # The tail: nothing delivered that is not stored, LSN order within a run, no gap over all runs.
    tail.start()
    deadline = time.time() + 10
    lsn_of = {ev["event_id"]: ev["lsn"] for ev in events if ev.get("origin") == events[0].get("origin")}
    own = sorted(lsn_of.values())
    delivered = []
    while True:
        time.sleep(0.5)
        delivered = []
        for path in tail.runs:
            for raw in open(path, "rb").read().decode(errors="replace").splitlines():
                try:
                    delivered.append(json.loads(raw)["event_id"])
                except (ValueError, KeyError):
                    pass  # a line cut by SIGKILL
        if set(delivered) >= set(lsn_of) or time.time() > deadline:
            break
    tail.kill()
    phase("tail catch-up")
    for path in tail.runs:
        last = 0
        for raw in open(path, "rb").read().decode(errors="replace").splitlines():
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev["event_id"] not in count:
                violations.append(f"the tail delivered {ev['event_id']}, which is not in the log")
            if ev["lsn"] <= last:
                violations.append(f"the tail went back from LSN {last} to {ev['lsn']} within one run")
            last = ev["lsn"]
    delivered_set = set(delivered)
    gaps = [i for i in lsn_of if i not in delivered_set]
    violations += [f"the tail never delivered {i} (gap)" for i in gaps[:5]]
    figures.update(tail_runs=len(tail.runs), tail_delivered=len(delivered),
                   tail_redelivered=len(delivered) - len(set(delivered)), tail_gaps=len(gaps))
    # The peer: one more shipment, then a byte-identical copy of every sealed segment, nothing quarantined.
    run([A, "ship", "push", "../peer", "--seal", "--force"], repo)
    run([A, "ship", "adopt"], peer)
    origin = [d for d in os.listdir(os.path.join(repo, ".aibrain/log")) if len(d) == 32][0]
    mine = sorted(n for n in os.listdir(os.path.join(repo, ".aibrain/log", origin)) if n.endswith(".seg"))
    theirs_dir = os.path.join(peer, ".aibrain/log", origin)
    theirs = sorted(n for n in os.listdir(theirs_dir) if n.endswith(".seg")) if os.path.isdir(theirs_dir) else []
    if mine != theirs:
        violations.append(f"the peer holds {len(theirs)} of {len(mine)} sealed segments")
    for n in theirs:
        if open(os.path.join(theirs_dir, n), "rb").read() != open(os.path.join(repo, ".aibrain/log", origin, n),
                                                                     "rb").read():
            violations.append(f"the peer's {n} differs")
    quarantine = os.path.join(peer, ".aibrain/quarantine")
    if os.path.isdir(quarantine) and os.listdir(quarantine):
        violations.append(f"the peer quarantined {os.listdir(quarantine)}")
    pv = run([A, "verify"], peer, check=False)
    if pv.returncode != 0:
        violations.append(f"verify in the peer exited {pv.returncode}")
    figures.update(sealed_segments=len(mine), peer_segments=len(theirs))
    phase("peer")
else:
    figures["faults"] = sum(e.markers for e in emitters)
    figures["acknowledged_after_failed_fsync"] = sum(e.marker_violations for e in emitters)
    figures["writer_runs"] = sum(e.restarts for e in emitters)

figures["violations"] = len(violations)
if args.json:
    with open(args.json, "w") as f:
        json.dump(figures, f, indent=2, sort_keys=True)
        f.write("\n")
if args.mode == "kill":
    print(f"crash campaign (kill -9): {figures['kill_count']} kill -9 crashes ({kills}) in {args.seconds:.0f} s, "
          f"{len(acked)} acknowledged, {len(lost)} lost, {len(duplicated)} duplicated, {len(phantom)} phantom; "
          f"tail: {figures['tail_runs']} runs, {figures['tail_gaps']} gaps, {figures['tail_redelivered']} "
          f"re-delivered after a kill; peer: {figures['peer_segments']}/{figures['sealed_segments']} segments")
else:
    print(f"crash campaign (fsync EIO via LD_PRELOAD): {figures['faults']} injected fsync/fdatasync failures over "
          f"{figures['writer_runs']} writer runs in {args.seconds:.0f} s, {figures['acknowledged_after_failed_fsync']} "
          f"acknowledgements after a failed fsync, {len(acked)} acknowledged, {len(lost)} lost, "
          f"{len(duplicated)} duplicated")
for v in violations[:20]:
    print("  VIOLATION:", v)
if not args.keep and not violations:
    shutil.rmtree(work, ignore_errors=True)
else:
    print("  work directory:", work)
sys.exit(1 if violations else 0)
