#!/bin/bash
# Run each libFuzzer target for a bounded time on its seed corpus.
set -euo pipefail
secs="$1"; shift
for f in "$@"; do
	name=$(basename "$f")
	corpus="build/fuzz/corpus/$name"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true
	echo "fuzzing $name for $secs s"
	"$f" -max_total_time="$secs" -timeout=5 -print_final_stats=0 "$corpus" 2>&1 | tail -n 3
done
