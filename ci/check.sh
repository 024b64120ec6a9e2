#!/bin/bash
# Run the unit tests (each binary once), each fuzz target ($4) for a few
# seconds on its seeds, then the lab tests ($3 at a time), then check that
# the lab left nothing behind. Prints each binary as it ends and
# "N passed, M failed" at the end.
#
# A binary passes only when it ran every test it declares (cmocka's
# "Running N test(s)") and all of them passed, within its time limit, and
# no sanitizer report was written by it or by any program it started. Its
# limit is declared in its source, on a line "/* limit: S s */" (default 60
# s for unit tests, 180 s for lab tests); one that runs over is stopped and
# its unfinished tests count as failed.
set -u
unit="$1"; lab="$2"; jobs="${3:-2}"; fuzz="${4:-}"   # $5: "tree" checks the tree too
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-2}
pass=0; fail=0
logdir=${CHECK_LOGDIR:-build/test-logs}
mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)   # absolute: tests and their daemons may change directory
rm -rf "$logdir/running" "$logdir/san"
mkdir -p "$logdir/running" "$logdir/san"
# Daemons that drop root (the introducer becomes nobody) write here too.
chmod 1777 "$logdir/san"

# The source a binary was built from, and the limit it declares there.
source_of() { # binary
	local name; name=$(basename "$1")
	for d in tests/lab tests/unit tests/data/check; do
		[ -f "$d/$name.c" ] && { echo "$d/$name.c"; return; }
	done
}
limit_of() { # kind binary
	local src s
	src=$(source_of "$2")
	s=$(sed -n 's|^/\* limit: \([0-9][0-9]*\) s \*/$|\1|p' "$src" 2>/dev/null | head -n 1)
	if [ -n "$s" ]; then echo "$s"; elif [ "$1" = lab ]; then echo 180; else echo 60; fi
}

# One test binary: prints "PASS|FAIL|HUNG binary seconds cases-passed cases-failed [why]".
run_one() { # kind binary
	local kind="$1" bin="$2" key log san start=$SECONDS rc=0 limit declared ok failed why=""
	key=$(echo "$bin" | tr '/' '_')
	log="$logdir/$key.log"
	san="$logdir/san/$key"
	rm -rf "$san"; mkdir -p "$san"; chmod 1777 "$san"
	limit=$(limit_of "$kind" "$bin")
	touch "$logdir/running/$key"
	# Every program the test starts inherits these: a sanitizer report from
	# any of them lands in $san and fails the binary.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san/asan:detect_leaks=1" \
	UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san/ubsan:print_stacktrace=1" \
		timeout --kill-after=10 "$limit" "$bin" >"$log" 2>&1 || rc=$?
	rm -f "$logdir/running/$key"
	declared=$(sed -n 's/^\[==========\] Running \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	ok=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	failed=$((declared - ok))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="hung: stopped after its limit of $limit s, in $(sed -n 's/^\[ RUN      \] //p' "$log" | tail -n 1)"
	elif [ "$declared" = 0 ]; then
		why="ran no test (exit $rc)"
	elif [ "$ok" -lt "$declared" ] && ! grep -q '^\[  FAILED  \] [0-9]* test' "$log"; then
		why="ran $ok of the $declared tests it declares (exit $rc)"
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		why="exit $rc after its tests passed"
	fi
	if [ -n "$(ls -A "$san" 2>/dev/null)" ]; then
		# Which test the report belongs to is not known: none of them passed.
		why="${why:+$why; }a sanitizer report from $(ls "$san" | tr '\n' ' ')"
		failed=$((declared > 0 ? declared : 1)); ok=0
	fi
	[ -n "$why" ] && [ "$failed" = 0 ] && failed=1
	if [ "$rc" = 0 ] && [ -z "$why" ] && [ "$failed" = 0 ]; then
		printf 'PASS %-42s %4ds %d %d\n' "$bin" $((SECONDS - start)) "$ok" 0
	else
		printf '%s %-42s %4ds %d %d (log: %s)\n' "$( [ "$rc" = 124 ] || [ "$rc" = 137 ] && echo HUNG || echo FAIL)" \
			"$bin" $((SECONDS - start)) "$ok" "$failed" "$log"
		[ -n "$why" ] && echo "    $why"
		grep -E '^\[  FAILED  \] [a-z]|^\[  ERROR   \]|LINE|ERROR: |runtime error' "$log" | head -n 20 | sed 's/^/    /'
		for f in "$san"/*; do
			[ -f "$f" ] || continue
			echo "    --- $f"
			grep -E 'ERROR|SUMMARY|runtime error|^ *#[0-9] ' "$f" | head -n 12 | sed 's/^/    /'
		done
	fi
}
tally() { # lines from run_one on stdin
	while read -r verdict name secs ok bad rest; do
		case "$verdict" in PASS|FAIL|HUNG) pass=$((pass + ok)); fail=$((fail + bad)) ;; esac
	done
}
export -f run_one source_of limit_of; export logdir

# With "tree" as $5, the checks of the tree itself: the mesh and the lab
# share only lib/ (layout.sh); make install installs what it should, the
# man pages render and systemd accepts the units (install-check.sh).
if [ "${5:-}" = tree ]; then
	for c in ci/layout.sh ci/install-check.sh; do
		if $c; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	done
fi

for t in $unit; do
	line=$(run_one unit "$t"); echo "$line"
	tally <<<"$(echo "$line" | head -n 1)"
done

# Fuzz targets: each builds (make did that), starts, and survives its
# seeds and a few seconds of mutations.
for f in $fuzz; do
	line=$(ci/fuzz.sh "$FUZZ_SMOKE_SECONDS" "$f")
	echo "$line"
	case "$line" in PASS*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done

if [ -n "$lab" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "lab tests need root (namespaces, nftables): run sudo make check" >&2
		fail=$((fail + 1))
	else
		before_runs=$(ls /run/punchlab 2>/dev/null | sort)
		before_ns=$(ls /run/netns 2>/dev/null | grep '^pl-' | sort)
		before_procs=$(pgrep -f 'build/(asan/)?(punchlab|tests/toynat)|stund' | sort)
		start=$SECONDS
		echo "lab tests, $jobs at a time (each line as it ends):"
		# What is still running, once a minute.
		( while sleep 60 </dev/null >/dev/null 2>&1; do
			r=$(ls "$logdir/running" 2>/dev/null | sed 's/^build_asan_tests_//' | tr '\n' ' ')
			[ -n "$r" ] && echo "  ... $((SECONDS - start)) s: still running $r"
		done ) &
		ticker=$!
		# Longest first (by declared limit), so the long ones overlap the rest.
		for t in $lab; do echo "$(limit_of lab "$t") $t"; done | sort -rn | cut -d' ' -f2 |
			xargs -P "$jobs" -I{} bash -c 'run_one lab {}' | tee "$logdir/lab.results"
		kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null
		tally <"$logdir/lab.results"
		echo "lab tests took $((SECONDS - start)) s"
		# Nothing of ours may outlive the suite: runs, namespaces, processes.
		after_runs=$(ls /run/punchlab 2>/dev/null | sort)
		left=$(comm -13 <(echo "$before_runs") <(echo "$after_runs") | grep . || true)
		left_ns=$(comm -13 <(echo "$before_ns") <(ls /run/netns 2>/dev/null | grep '^pl-' | sort) | grep . || true)
		sleep 1 # let init reap keepers that just exited
		left_procs=$(comm -13 <(echo "$before_procs") <(pgrep -f 'build/(asan/)?(punchlab|tests/toynat)|stund' | sort) | grep . || true)
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
