#!/usr/bin/env python3
"""Knowledge-object search: retrieval quality on fixtures/ko-eval, and `ko search` latency on 10,000 KOs.

Usage: python3 Benchmarks/ko_bench.py [--binary PATH] [--kos 10000] [--searches 200] [--work DIR]
                                      [--embedder "CMD"] [--skip-latency] [--skip-eval]

Evaluation (fixtures/ko-eval: KOs and graded queries written without the ranking code, see its README):
every KO is added with `ko add`, then every query runs three ways, each through the CLI:
  tags     `ko search Q --ranking tags`   KOs with the most query terms among their tags (the origin design)
  bm25     `ko search Q --ranking bm25`   plain BM25 over title+tags+body as one field, k1 1.2, b 0.75
  hybrid   `ko search Q --no-semantic`    the shipped ranking without embeddings (lexical + tag arms fused,
                                          × effectiveness × decay)
  hybrid+semantic (with --embedder)       the same plus the semantic arm: every KO embedded with `ko embed`,
                                          each query's vector passed with --vector (embedding time apart) A query's --tags filter applies to all three.
Metrics, overall and per query kind: recall@5 and MRR (relevant = grade >= 2), nDCG@5 (grades 1–3).

Latency: a store with --kos generated KOs (their words drawn from the evaluation KOs plus random identifiers,
two lines each: ko.proposed and ko.approved, loaded with `import jsonl`, then sealed); one search builds the index
(reported as the cold search), then --searches searches of varied queries, each a whole process (spawn to
exit, lexical and tag arms, warm page cache). Prints p50, p95, p99 and max. No timing target is asserted
here; the issue's target (p95 <= 50 ms) is checked by reading the output.
Results go to Benchmarks/ko-results.json.
"""
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EVAL = os.path.join(ROOT, "fixtures", "ko-eval")


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


BIN = os.path.abspath(arg("--binary", os.path.join(ROOT, ".build-release", "release", "aibrain")))
KOS = int(arg("--kos", "10000"))
SEARCHES = int(arg("--searches", "200"))
EMBEDDER = arg("--embedder", None)
MODEL = arg("--model", "all-MiniLM-L6-v2")
WORK = arg("--work", None) or tempfile.mkdtemp(prefix="ko-bench-")
ENV = dict(os.environ, AIBRAIN_QUIET="1")


def run(args, cwd, check=True, stdin=None):
    p = subprocess.run([BIN] + args, cwd=cwd, capture_output=True, text=True, env=ENV, input=stdin)
    if check and p.returncode != 0:
        sys.exit(f"`aibrain {' '.join(args)}` exited {p.returncode}: {p.stderr[-600:]}")
    return p


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    run(["init", "--origin", name], d)
    return d


def metrics(ranked, relevant):
    good = {k for k, g in relevant.items() if g >= 2}
    top = ranked[:5]
    recall = len(good & set(top)) / len(good) if good else 0.0
    rr = 0.0
    for i, k in enumerate(ranked):
        if k in good:
            rr = 1.0 / (i + 1)
            break
    dcg = sum((2 ** relevant.get(k, 0) - 1) / math.log2(i + 2) for i, k in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:5]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return recall, rr, (dcg / idcg if idcg else 0.0)


def evaluate():
    d = fresh("eval")
    kos = sorted(os.listdir(os.path.join(EVAL, "kos")))
    for n in kos:
        run(["ko", "add", os.path.join(EVAL, "kos", n)], d)
    queries = [json.loads(l) for l in open(os.path.join(EVAL, "queries.jsonl")) if l.strip()]
    embed_seconds = None
    if EMBEDDER:
        t = time.time()
        run(["ko", "embed", "--command", EMBEDDER, "--model", MODEL], d)
        embed_seconds = time.time() - t
    rankings = ["tags", "bm25", "hybrid"] + (["hybrid+semantic"] if EMBEDDER else [])
    per = {r: [] for r in rankings}
    query_vectors = {}
    query_embed_seconds = None
    if EMBEDDER:
        # The queries' vectors in one run of the command (what `ko search` does per query, without paying the
        # model's start-up 44 times); the model name is the one `ko embed` stored.
        t = time.time()
        lines = "".join(json.dumps({"id": q["id"], "text": q["query"]}) + "\n" for q in queries)
        p = subprocess.run(["/bin/sh", "-c", EMBEDDER], input=lines, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"the embedder failed: {p.stderr[-400:]}")
        for l in p.stdout.splitlines():
            o = json.loads(l)
            query_vectors[o["id"]] = o["vector"]
        query_embed_seconds = time.time() - t
    for q in queries:
        base = ["ko", "search", q["query"], "--limit", "10", "-o", "json"]
        if q.get("tags"):
            base += ["--tags", ",".join(q["tags"])]
        for r in rankings:
            extra = ["--ranking", r] if r in ("tags", "bm25") else ["--no-semantic"]
            if r == "hybrid+semantic":
                extra = ["--vector", json.dumps(query_vectors[q["id"]]), "--model", MODEL]
            out = json.loads(run(base + extra, d).stdout)
            ids = [x["id"] for x in out["results"]]
            per[r].append((q.get("kind", "keyword"), metrics(ids, q["relevant"])))
    summary = {}
    kinds = sorted({k for k, _ in per["tags"]})
    for r in rankings:
        rows = {}
        for kind in ["all"] + kinds:
            ms = [m for k, m in per[r] if kind == "all" or k == kind]
            rows[kind] = {
                "queries": len(ms),
                "recall@5": round(statistics.mean(m[0] for m in ms), 3),
                "mrr": round(statistics.mean(m[1] for m in ms), 3),
                "ndcg@5": round(statistics.mean(m[2] for m in ms), 3),
            }
        summary[r] = rows
    print(f"evaluation: {len(kos)} KOs, {len(queries)} queries"
          + (f", embedder `{EMBEDDER}` ({embed_seconds:.1f} s for the KOs)" if EMBEDDER else ", no embedder"))
    print(f"  {'ranking':15} {'kind':11} {'n':>3} {'recall@5':>9} {'MRR':>6} {'nDCG@5':>7}")
    for r in rankings:
        for kind, row in summary[r].items():
            print(f"  {r:15} {kind:11} {row['queries']:3d} {row['recall@5']:9.3f} {row['mrr']:6.3f} {row['ndcg@5']:7.3f}")
    # The hybrid's parameters, one changed at a time from the defaults (all queries; the defaults were chosen
    # on this same set, so this shows how sensitive it is, not a held-out result).
    variants = [("defaults", []), ("tag arm 0.1", ["--weights", "1,0.1,1"]), ("tag arm 0.5", ["--weights", "1,0.5,1"]),
                ("title, tags x2", ["--field-weights", "2,2"]), ("rank window 20", ["--rank-window", "20"]),
                ("rank window 1000", ["--rank-window", "1000"]), ("no age decay", ["--half-life", "0"])]
    sweep = []
    for semantic in ([False, True] if EMBEDDER else [False]):
        for label, extra in variants:
            ms = []
            for q in queries:
                base = ["ko", "search", q["query"], "--limit", "10", "-o", "json"] + extra
                if q.get("tags"):
                    base += ["--tags", ",".join(q["tags"])]
                base += (["--vector", json.dumps(query_vectors[q["id"]]), "--model", MODEL] if semantic
                         else ["--no-semantic"])
                ids = [x["id"] for x in json.loads(run(base, d).stdout)["results"]]
                ms.append(metrics(ids, q["relevant"]))
            sweep.append({"arms": "lexical+semantic" if semantic else "lexical", "variant": label,
                          "recall@5": round(statistics.mean(m[0] for m in ms), 3),
                          "mrr": round(statistics.mean(m[1] for m in ms), 3),
                          "ndcg@5": round(statistics.mean(m[2] for m in ms), 3)})
    print(f"  sweep (hybrid, all {len(queries)} queries): {'arms':17} {'variant':17} {'recall@5':>9} {'MRR':>6} {'nDCG@5':>7}")
    for row in sweep:
        print(f"  {'':36}{row['arms']:17} {row['variant']:17} {row['recall@5']:9.3f} {row['mrr']:6.3f} {row['ndcg@5']:7.3f}")
    result = {"kos": len(kos), "queries": len(queries), "embedder": EMBEDDER, "summary": summary, "sweep": sweep}
    if EMBEDDER:
        result["embed_kos_seconds"] = round(embed_seconds, 2)
        result["embed_queries_seconds"] = round(query_embed_seconds, 2)
    return result


WORDS = None


def vocabulary():
    words = set()
    for n in os.listdir(os.path.join(EVAL, "kos")):
        words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", open(os.path.join(EVAL, "kos", n)).read()))
    return sorted(words)


def latency():
    rng = random.Random(8)
    words = vocabulary()
    tags = [w.lower() for w in words if w.islower() and len(w) < 12][:300]
    d = fresh("latency")
    path = os.path.join(WORK, "kos.jsonl")
    with open(path, "w") as f:
        for i in range(KOS):
            ko = f"KO-gen-{i:05d}"
            title = " ".join(rng.choice(words) for _ in range(rng.randint(4, 9)))
            body = " ".join(rng.choice(words) for _ in range(rng.randint(40, 140)))
            body += f" `fn_{rng.randrange(10**6)}` in app/mod_{rng.randrange(500)}.py"
            data = {"ko_id": ko, "title": title, "tags": rng.sample(tags, rng.randint(1, 4)), "body": body,
                    "projects": [rng.choice(["credentialmate", "karematch", "aibrain"])]}
            f.write(json.dumps({"type": "ko.proposed", "event_id": ko + "-p", "data": data}) + "\n")
            f.write(json.dumps({"type": "ko.approved", "event_id": ko + "-a", "data": {"ko_id": ko}}) + "\n")
    t = time.time()
    run(["import", "jsonl", path], d)
    import_s = time.time() - t
    # As a store that has lived a while: the KOs in sealed segments (reading one event reads one block), not
    # in the one 8 MB batch a bulk import leaves in the open segment.
    run(["seal"], d)
    t = time.time()
    run(["ko", "search", "retry backoff"], d)
    cold = time.time() - t
    queries = []
    for _ in range(SEARCHES):
        q = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        queries.append(q)
    for q in queries[:10]:
        run(["ko", "search", q], d)  # warm the page cache
    times = []
    for i, q in enumerate(queries):
        args = ["ko", "search", q, "--limit", "10"]
        if i % 4 == 0:
            args += ["--tags", rng.choice(tags)]
        t = time.perf_counter()
        p = run(args, d)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()

    def pct(p):
        return times[min(len(times) - 1, int(math.ceil(p / 100 * len(times))) - 1)]

    size = os.path.getsize(os.path.join(d, ".aibrain", "projections", "ko-search.idx"))
    lexical = pct(50), pct(95), pct(99), times[-1]

    # The semantic arm's own cost: every KO embedded (by the standard-library test embedder, 256 dimensions:
    # a stand-in for the arm's arithmetic, not for a model's quality), queries given as --vector (the query's
    # embedding time is the embedder's, reported apart).
    hash_embedder = "python3 " + os.path.join(ROOT, "Tests", "Embedders", "hash_embedder.py")
    t = time.time()
    run(["ko", "embed", "--configure", "--command", hash_embedder, "--model", "hash-256"], d)
    embed_all = time.time() - t
    lines = "".join(json.dumps({"id": str(i), "text": q}) + "\n" for i, q in enumerate(queries))
    p = subprocess.run(["/bin/sh", "-c", hash_embedder], input=lines, capture_output=True, text=True, check=True)
    vectors = {o["id"]: o["vector"] for o in map(json.loads, p.stdout.splitlines())}
    run(["ko", "search", "warm", "--vector", json.dumps(vectors["0"]), "--model", "hash-256"], d)  # builds the file
    sem = []
    for i, q in enumerate(queries[:100]):
        t = time.perf_counter()
        run(["ko", "search", q, "--limit", "10", "--vector", json.dumps(vectors[str(i)]), "--model", "hash-256"], d)
        sem.append((time.perf_counter() - t) * 1000)
    sem.sort()
    lex2 = []
    for q in queries[:100]:
        t = time.perf_counter()
        run(["ko", "search", q, "--limit", "10", "--no-semantic"], d)
        lex2.append((time.perf_counter() - t) * 1000)
    lex2.sort()

    def at(xs, p):
        return xs[min(len(xs) - 1, int(math.ceil(p / 100 * len(xs))) - 1)]

    snap = os.path.getsize(os.path.join(d, ".aibrain", "projections", "knowledge.snap"))
    vec = os.path.getsize(os.path.join(d, ".aibrain", "projections", "ko-vectors.idx"))
    print(f"latency: {KOS} KOs ({2 * KOS} events imported in {import_s:.1f} s; index {size / 1e6:.1f} MB), "
          f"cold search (builds the index) {cold * 1000:.0f} ms")
    print(f"  {SEARCHES} searches, each a whole process: p50 {lexical[0]:.1f} ms, p95 {lexical[1]:.1f} ms, "
          f"p99 {lexical[2]:.1f} ms, max {lexical[3]:.1f} ms")
    print(f"  every KO embedded (hash-256, {embed_all:.1f} s; vector file {vec / 1e6:.1f} MB, knowledge snapshot "
          f"{snap / 1e6:.1f} MB): 100 searches with --vector p50 {at(sem, 50):.1f} ms, p95 {at(sem, 95):.1f} ms; "
          f"lexical only p50 {at(lex2, 50):.1f} ms, p95 {at(lex2, 95):.1f} ms")
    return {"kos": KOS, "searches": SEARCHES, "cold_ms": round(cold * 1000, 1), "p50_ms": round(lexical[0], 1),
            "p95_ms": round(lexical[1], 1), "p99_ms": round(lexical[2], 1), "max_ms": round(lexical[3], 1),
            "index_bytes": size,
            "embedded": {"embed_all_seconds": round(embed_all, 1), "vector_file_bytes": vec, "snapshot_bytes": snap,
                         "semantic_p50_ms": round(at(sem, 50), 1), "semantic_p95_ms": round(at(sem, 95), 1),
                         "lexical_p50_ms": round(at(lex2, 50), 1), "lexical_p95_ms": round(at(lex2, 95), 1)}}


if not os.access(BIN, os.X_OK):
    sys.exit(f"{BIN}: no aibrain binary (build it: swift build -c release --scratch-path .build-release)")
# A part that is skipped keeps its figures from the last run.
previous = os.path.join(HERE, "ko-results.json")
results = json.load(open(previous)) if os.path.exists(previous) else {}
results["binary"] = BIN
if "--skip-eval" not in sys.argv:
    results["evaluation"] = evaluate()
if "--skip-latency" not in sys.argv:
    results["latency"] = latency()
with open(os.path.join(HERE, "ko-results.json"), "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
if "--work" not in sys.argv:
    shutil.rmtree(WORK, ignore_errors=True)
