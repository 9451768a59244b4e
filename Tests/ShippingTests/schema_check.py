#!/usr/bin/env python3
"""Validates JSON documents against a schema (Draft 2020-12); prints one error per line, exits 1 on any.

Usage: python3 schema_check.py SCHEMA.json DOC.json [DOC.json ...]
"""
import json
import sys

from jsonschema import Draft202012Validator


def main(argv):
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    bad = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for e in validator.iter_errors(doc):
            print("%s: %s at %s" % (path, e.message, "/".join(str(p) for p in e.path)))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
