#!/usr/bin/env python3
"""Prints jsonschema's verdict on a batch of event payloads, one process for the whole batch.

Usage: python3 schema_batch.py SCHEMA_DIR < BATCH.jsonl

SCHEMA_DIR holds <type>.schema.json files (Draft 2020-12; each is checked against the metaschema first).
Each stdin line is {"name": ..., "type": ..., "data": {...}}; other members (such as "valid") are not
read, the caller compares. Prints `<name>\t<true|false>\t<first error or empty>` per line, in input
order. Exits 0 unless a schema is invalid, a line is not JSON, or a type has no schema (exit 2), or
jsonschema is missing (exit 3): the caller fails on any non-zero status, it never skips.
"""
import json
import os
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError as e:  # the Swift test shows this text
    sys.stderr.write("schema_batch.py: cannot import jsonschema (%s); install python3-jsonschema (make deps)\n" % e)
    sys.exit(3)

SUFFIX = ".schema.json"


def strict(text):
    raise ValueError("not JSON: %s" % text)  # NaN, Infinity: Python accepts them, JSON does not


def first_error(validator, data):
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return ""
    e = errors[0]
    path = "data" + "".join("[%d]" % p if isinstance(p, int) else "." + str(p) for p in e.absolute_path)
    return ("%s: %s" % (path, e.message)).replace("\t", " ").replace("\n", " ")[:200]


def main(argv):
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    validators = {}
    for name in sorted(os.listdir(argv[0])):
        if not name.endswith(SUFFIX):
            continue
        with open(os.path.join(argv[0], name), encoding="utf-8") as f:
            schema = json.load(f, parse_constant=strict)
        Draft202012Validator.check_schema(schema)
        validators[name[: -len(SUFFIX)]] = Draft202012Validator(schema)
    lines = sys.stdin.read().split("\n")  # all input first: the caller writes it all before reading
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_constant=strict)
        except ValueError as e:
            sys.stderr.write("schema_batch.py: line %d is not JSON: %s\n" % (number, e))
            return 2
        validator = validators.get(item["type"])
        if validator is None:
            sys.stderr.write("schema_batch.py: line %d: no schema for type %r\n" % (number, item["type"]))
            return 2
        ok = validator.is_valid(item["data"])
        out.append("%s\t%s\t%s" % (item["name"], "true" if ok else "false", first_error(validator, item["data"])))
    sys.stdout.write("".join(o + "\n" for o in out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
