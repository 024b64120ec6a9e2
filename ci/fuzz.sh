#!/bin/bash
# Run each libFuzzer target for a bounded time on its seed corpus
# (tests/fuzz/seeds/NAME: a target without seeds is an error). Prints each
# target's last lines, and what it says it reached. Exit 1 on a crash or
# a target without seeds.
set -uo pipefail
secs="$1"; shift
bad=0
for f in "$@"; do
	name=$(basename "$f")
	seeds="tests/fuzz/seeds/$name"
	corpus="build/fuzz/corpus/$name"
	if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
		echo "FAIL $name: no seeds in $seeds (add some inputs that reach its code)"
		bad=1
		continue
	fi
	mkdir -p "$corpus"
	cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	log="build/fuzz/$name.log"
	if "$f" -max_total_time="$secs" -timeout=5 -print_final_stats=0 "$corpus" >"$log" 2>&1; then
		printf 'PASS %-20s %s s; %s\n' "$name" "$secs" "$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1)"
		grep ' reached: ' "$log" | tail -n 1 | sed 's/^/     /'
	else
		echo "FAIL $name (log: $log)"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error|^ *#[0-9] ' "$log" | head -n 20 | sed 's/^/    /'
		bad=1
	fi
done
exit $bad
