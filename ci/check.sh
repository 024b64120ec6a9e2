#!/bin/bash
# Run the unit tests (each binary once), then the lab tests ($3 at a time),
# then check that the lab left nothing behind. Prints "N passed, M failed".
set -u
unit="$1"; lab="$2"; jobs="${3:-2}"
pass=0; fail=0; failed=""
logdir=build/test-logs
mkdir -p "$logdir"

run_one() { # name binary
	local log="$logdir/$(echo "$2" | tr '/' '_').log" start=$SECONDS
	if "$2" >"$log" 2>&1; then
		printf 'PASS %-40s %3ds\n' "$2" $((SECONDS - start))
	else
		printf 'FAIL %-40s %3ds (log: %s)\n' "$2" $((SECONDS - start)) "$log"
		tail -n 40 "$log" | sed 's/^/    /'
		return 1
	fi
}
export -f run_one; export logdir

for t in $unit; do
	if run_one unit "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $t"; fi
done

if [ -n "$lab" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "lab tests need root (namespaces, nftables): run sudo make check" >&2
		fail=$((fail + 1))
	else
		before_runs=$(ls /run/punchlab 2>/dev/null | sort)
		start=$SECONDS
		results=$(printf '%s\n' $lab | xargs -P "$jobs" -I{} bash -c 'run_one lab {}')
		echo "$results" | grep -E '^(PASS|FAIL) ' | sort -k2
		echo "$results" | grep -vE '^(PASS|FAIL) ' || true
		pass=$((pass + $(echo "$results" | grep -c '^PASS ')))
		nfail=$(echo "$results" | grep -c '^FAIL ')
		fail=$((fail + nfail))
		echo "lab tests took $((SECONDS - start)) s"
		# Nothing of ours may outlive the suite: runs, namespaces, processes.
		after_runs=$(ls /run/punchlab 2>/dev/null | sort)
		left=$(comm -13 <(echo "$before_runs") <(echo "$after_runs") | grep . || true)
		if [ -n "$left" ]; then
			echo "FAIL lab left runs behind: $left"; fail=$((fail + 1))
			for r in $left; do build/punchlab topo down --run "$r" >/dev/null 2>&1; done
		else
			echo "PASS lab left no run, namespace or process behind"; pass=$((pass + 1))
		fi
	fi
fi
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
