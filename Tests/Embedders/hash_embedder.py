#!/usr/bin/env python3
"""A deterministic embedding command for tests (standard library only).

Reads JSON lines {"id": ..., "text": ...} on stdin and writes {"id": ..., "vector": [...]} lines: the text's
lowercased words and their character trigrams, hashed (CRC-32) with a sign into 256 dimensions, then
L2-normalized. Texts that share words or word pieces get a positive cosine; it knows no synonyms, so it stands
in for a real model only in tests of the plumbing (aibrain ko embed / ko search), never in quality figures.
"""
import json
import math
import re
import sys
import zlib

DIM = 256


def embed(text):
    v = [0.0] * DIM
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        feats = [w] + [w[i:i + 3] for i in range(max(1, len(w) - 2))]
        for f in feats:
            h = zlib.crc32(f.encode())
            v[h % DIM] += 1.0 if (h >> 16) & 1 else -1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [round(x / n, 6) for x in v]


for line in sys.stdin:
    if line.strip():
        o = json.loads(line)
        sys.stdout.write(json.dumps({"id": o["id"], "vector": embed(o["text"])}) + "\n")
