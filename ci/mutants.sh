#!/bin/bash
# make mutants: break one function at a time, in a scratch copy of the
# tree, and check that the tests meant to hold it turn red. A mutant that
# survives (its tests still pass) is a test that cannot fail: exit 1.
# Lab mutants (the relay's checks) need root; they are skipped without it.
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/pl-mutants-XXXXXX)
trap 'rm -rf "$work"' EXIT
killed=0; survived=0; skipped=0

# mutant NAME FILE OLD NEW TEST...: in a copy, replace the text OLD (which
# must occur once) in FILE with NEW, build the tests, run them.
mutant() {
	local name="$1" file="$2" old="$3" new="$4"; shift 4
	local dir="$work/$name" tests="" lab="" t
	for t in "$@"; do
		case "$t" in build/asan/tests/lab_*) lab="$lab $t" ;; *) tests="$tests $t" ;; esac
	done
	if [ -n "$lab" ] && [ "$(id -u)" != 0 ]; then
		echo "SKIP $name (its tests are lab tests: run as root)"
		skipped=$((skipped + 1))
		return
	fi
	mkdir -p "$dir"
	git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$dir"
	if ! OLD="$old" NEW="$new" python3 - "$dir/$file" <<'PY'
import os, sys
path = sys.argv[1]
text = open(path).read()
old, new = os.environ['OLD'], os.environ['NEW']
if text.count(old) != 1:
    sys.exit('%s: the text to mutate occurs %d times: update ci/mutants.sh' % (path, text.count(old)))
open(path, 'w').write(text.replace(old, new))
PY
	then
		survived=$((survived + 1))
		return
	fi
	if ! make -C "$dir" -j2 -s $tests $lab ${lab:+build/asan/punchlab build/asan/punchlab-agent build/asan/punchlab-introducer} \
		>"$dir/build.log" 2>&1; then
		echo "FAIL $name: the mutant does not build (see $dir/build.log)"; tail -n 5 "$dir/build.log"
		survived=$((survived + 1))
		return
	fi
	if (cd "$dir" && CHECK_LOGDIR="$dir/logs" ci/check.sh "$tests" "$lab" 2 >"$dir/check.log" 2>&1); then
		echo "SURVIVED $name: $file still passes$tests$lab"
		survived=$((survived + 1))
	else
		echo "killed $name: $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$dir/check.log" | tail -n 1)"
		killed=$((killed + 1))
	fi
	rm -rf "$dir"
}

mutant csum_inet-returns-0 lib/csum/csum.c \
	'	sum = csum_add(buf, len, sum);' '	return 0;
	sum = csum_add(buf, len, sum);' \
	build/tests/test_wg_offload
mutant runner_as_expected-returns-true harness/runner/result.c \
	'bool runner_as_expected(const struct scenario_result *r)
{' 'bool runner_as_expected(const struct scenario_result *r)
{
	return true;' \
	build/tests/test_runner
mutant text_xml_put-does-not-escape lib/util/text.c \
	'void text_xml_put(FILE *out, const char *s)
{' 'void text_xml_put(FILE *out, const char *s)
{
	fputs(s, out);
	return;' \
	build/tests/test_runner
mutant mesh_counter_fresh-returns-true ref/mesh/counter.c \
	'	return d <= (int64_t)skew_s && d >= -(int64_t)skew_s;' '	return true || (d <= (int64_t)skew_s && d >= -(int64_t)skew_s);' \
	build/tests/test_mesh_counter
mutant wg_replay_check-returns-true ref/wg/replay.c \
	'	uint64_t word = counter >> 6, bit = 1ULL << (counter & 63);
' '	uint64_t word = counter >> 6, bit = 1ULL << (counter & 63);

	return true;
' \
	build/tests/test_wg_tables build/tests/test_wg_device
mutant mesh_replay_check-returns-true ref/mesh/counter.c \
	'	if (counter <= r->floor)
		return false;' '	return true;' \
	build/tests/test_mesh_counter
# The relay's checks, each alone (lab_mesh_faults: the relay test).
mutant relay-trusts-the-source-address-without-the-token ref/introducer/introducer.c \
	'		if (in->members[i].used && !sodium_memcmp(in->members[i].token, token, MESH_TOKEN_LEN))' \
	'		if (in->members[i].used && (!sodium_memcmp(in->members[i].token, token, MESH_TOKEN_LEN) ||
					    wg_endpoint_equal(&in->members[i].rec.seen[0], &in->cur_from)))' \
	build/asan/tests/lab_mesh_faults
mutant relay-forgets-where-the-member-registered ref/introducer/introducer.c \
	'			     : !wg_endpoint_equal(&src->rec.seen[0], &in->cur_from) &&' \
	'			     : 0 && !wg_endpoint_equal(&src->rec.seen[0], &in->cur_from) &&' \
	build/asan/tests/lab_mesh_faults

echo
echo "$killed mutants killed, $survived survived, $skipped skipped"
[ "$survived" = 0 ]
