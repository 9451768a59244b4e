#!/usr/bin/env python3
"""Prints jsonschema's verdict on each example of a fixture table.

Usage: python3 schema_check.py SCHEMA.json EXAMPLES.jsonl

Each line of EXAMPLES.jsonl is {"name": ..., "valid": ..., "event": {...}}. Prints
`<name>\t<true|false>` per line: whether `event` is valid under SCHEMA (Draft 2020-12).
The `valid` column is not read; the caller compares. Exits 0 unless a file cannot be read.
"""
import json
import sys

from jsonschema import Draft202012Validator


def strict(text):
    raise ValueError("not JSON: %s" % text)  # NaN, Infinity: Python accepts them, JSON does not


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    with open(argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            example = json.loads(line, parse_constant=strict)
            verdict = validator.is_valid(example["event"])
            print("%s\t%s" % (example["name"], "true" if verdict else "false"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
