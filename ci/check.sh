#!/bin/bash
# Run the unit tests (each binary once), then the lab tests ($3 at a time),
# then check that the lab left nothing behind. Prints "N passed, M failed".
set -u
unit="$1"; lab="$2"; jobs="${3:-2}"
pass=0; fail=0; failed=""
logdir=build/test-logs
mkdir -p "$logdir"

# One test binary: prints "PASS|FAIL binary seconds cases-passed cases-failed".
run_one() { # kind binary
	local log="$logdir/$(echo "$2" | tr '/' '_').log" start=$SECONDS ok=0 bad=0 rc=0
	"$2" >"$log" 2>&1 || rc=$?
	ok=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	bad=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	ok=${ok:-0}; bad=${bad:-0}
	# A binary that failed without saying which case (a crash) is one failure.
	[ "$rc" != 0 ] && [ "$bad" = 0 ] && bad=1
	if [ "$rc" = 0 ]; then
		printf 'PASS %-40s %3ds %d %d\n' "$2" $((SECONDS - start)) "$ok" "$bad"
	else
		printf 'FAIL %-40s %3ds %d %d (log: %s)\n' "$2" $((SECONDS - start)) "$ok" "$bad" "$log"
		grep -E 'FAILED|ERROR|LINE|ERROR: |Sanitizer|runtime error' "$log" | head -n 20 | sed 's/^/    /'
	fi
}
tally() { # lines from run_one on stdin
	while read -r verdict name secs ok bad rest; do
		case "$verdict" in PASS|FAIL) pass=$((pass + ok)); fail=$((fail + bad)) ;; esac
	done
}
export -f run_one; export logdir

for t in $unit; do
	line=$(run_one unit "$t"); echo "$line"
	tally <<<"$(echo "$line" | head -n 1)"
done

if [ -n "$lab" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "lab tests need root (namespaces, nftables): run sudo make check" >&2
		fail=$((fail + 1))
	else
		before_runs=$(ls /run/punchlab 2>/dev/null | sort)
		before_ns=$(ls /run/netns 2>/dev/null | grep '^pl-' | sort)
		before_procs=$(pgrep -f 'build/(asan/)?punchlab|stund' | sort)
		start=$SECONDS
		results=$(printf '%s\n' $lab | xargs -P "$jobs" -I{} bash -c 'run_one lab {}')
		echo "$results"
		tally <<<"$results"
		echo "lab tests took $((SECONDS - start)) s"
		# Nothing of ours may outlive the suite: runs, namespaces, processes.
		after_runs=$(ls /run/punchlab 2>/dev/null | sort)
		left=$(comm -13 <(echo "$before_runs") <(echo "$after_runs") | grep . || true)
		left_ns=$(comm -13 <(echo "$before_ns") <(ls /run/netns 2>/dev/null | grep '^pl-' | sort) | grep . || true)
		sleep 1 # let init reap keepers that just exited
		left_procs=$(comm -13 <(echo "$before_procs") <(pgrep -f 'build/(asan/)?punchlab|stund' | sort) | grep . || true)
		if [ -n "$left$left_ns$left_procs" ]; then
			echo "FAIL lab left behind: runs [$left] namespaces [$left_ns] processes [$left_procs]"
			fail=$((fail + 1))
			for r in $left; do build/punchlab topo down --run "$r" >/dev/null 2>&1; done
		else
			echo "PASS lab left no run, namespace or process behind"; pass=$((pass + 1))
		fi
	fi
fi
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
