#!/usr/bin/env bash
# Builds the harness in release mode and runs it pinned to core 0 (LIMITS.md figures are one core).
# Usage: Benchmarks/run.sh [--events N] [--runs 5] [--work DIR] [--only NAME] [--json FILE]
set -euo pipefail
if ! command -v taskset >/dev/null 2>&1; then
    echo "run.sh: taskset is missing (Debian package util-linux); refusing to run unpinned" >&2
    exit 1
fi
# The build log goes to stderr so that stdout holds only the report.
cd "$(dirname "$0")" && swift build -c release >&2 && taskset -c 0 .build/release/aibrain-bench "$@"
