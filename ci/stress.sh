#!/bin/bash
# The lab suite $1 times in a row ($2: the lab test binaries, $3 at a
# time) while stress-ng keeps one CPU busy: a test that passes only on an
# idle machine fails here. Stops at the first run that fails; prints each
# run's tally and how long it took. The hog is ended by its pid, whatever
# happens.
set -u
runs="$1"; lab="$2"; jobs="${3:-2}"
ci/deps.sh stress-ng || exit 1
stress-ng --cpu 1 --timeout 4h --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null' EXIT
for i in $(seq 1 "$runs"); do
	start=$SECONDS
	echo "stress run $i of $runs (one CPU kept busy by stress-ng, pid $hog)"
	if ! CHECK_LOGDIR=build/test-logs/stress-$i ci/check.sh "" "$lab" "$jobs"; then
		echo "stress run $i of $runs FAILED after $((SECONDS - start)) s; logs in build/test-logs/stress-$i"
		exit 1
	fi
	echo "stress run $i of $runs passed in $((SECONDS - start)) s"
done
echo "all $runs stress runs passed"
