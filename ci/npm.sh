#!/bin/sh
# The npm packages of the tools under test (tools/NAME/package-lock.json),
# installed as their lockfiles pin them (npm ci), only where what is
# installed is not what the lockfile says. Without npm a tool says it is
# unavailable; nothing here fails the build.
set -eu
cd "$(dirname "$0")/.."
command -v npm >/dev/null 2>&1 || { echo "punchlab: no npm here: the tools that need npm packages will say they are unavailable"; exit 0; }
for lock in tools/*/package-lock.json; do
	[ -f "$lock" ] || continue
	d=$(dirname "$lock")
	cmp -s "$lock" "$d/node_modules/.punchlab-lock" 2>/dev/null && continue
	echo "punchlab: npm ci in $d"
	if (cd "$d" && npm ci --silent --no-audit --no-fund >/dev/null); then
		cp "$lock" "$d/node_modules/.punchlab-lock"
	else
		echo "punchlab: npm ci in $d failed: that tool will say it is unavailable" >&2
	fi
done
