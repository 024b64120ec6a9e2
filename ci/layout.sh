#!/bin/bash
# The layout's one rule: the mesh (ref/) and the lab (harness/) share only
# the base (lib/). No file under ref/ includes a header under harness/, none
# under harness/ one under ref/, and lib/ includes neither. Includes are
# resolved as the compiler does: beside the file, then through -Ilib -Iref
# (the only -I the programs are built with). And none of them calls
# system() or popen(). Prints PASS or FAIL with every offending line;
# exit 1 on FAIL.
set -u
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
	part=${f%%/*}
	dir=$(dirname "$f")
	while IFS= read -r inc; do
		target=""
		for base in "$dir" lib ref; do
			if [ -e "$base/$inc" ]; then target=$(realpath -m --relative-to=. "$base/$inc"); break; fi
		done
		[ -n "$target" ] || continue
		tpart=${target%%/*}
		case "$part:$tpart" in
		ref:harness | harness:ref | lib:harness | lib:ref)
			echo "    $f includes $target ($part/ may use lib/ and itself only)"
			bad=1 ;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files -co --exclude-standard 'lib/*.[ch]' 'ref/*.[ch]' 'harness/*.[ch]')
# No shell between our code and a program: programs run with argv through
# lib/util/proc.c, never through system() or popen().
while IFS= read -r hit; do
	echo "    $hit (run it with argv through lib/util/proc.h, not a shell)"
	bad=1
done < <(git ls-files -co --exclude-standard 'lib/*.c' 'ref/*.c' 'harness/*.c' |
	xargs grep -nE '(^|[^_a-z])(system|popen)[[:space:]]*\(' 2>/dev/null)
if [ "$bad" = 0 ]; then
	echo "PASS layout: ref/ and harness/ share only lib/; no shell in lib/, ref/ or harness/"
else
	echo "FAIL layout: ref/ and harness/ must share only lib/, and run no shell (the lines above)"
fi
exit $bad
