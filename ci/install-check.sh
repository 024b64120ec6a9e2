#!/bin/bash
# make install into a scratch DESTDIR: the programs, man pages, models,
# units and example configurations land where they should; every man page
# renders without a warning; systemd accepts the units. Prints PASS or FAIL
# (with what is wrong); exit 1 on FAIL.
set -u
cd "$(dirname "$0")/.."
dest=$(mktemp -d /tmp/pl-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
why=""
if ! make -s install DESTDIR="$dest" PREFIX=/usr/local >"$dest.log" 2>&1; then
	why="make install failed: $(tail -n 3 "$dest.log" | tr '\n' ' ')"
fi
rm -f "$dest.log"
for f in bin/punchlab bin/punchlab-agent bin/punchlab-introducer bin/punchlab-wg \
	share/man/man1/punchlab.1 share/man/man5/punchlab.nat.5 share/man/man5/punchlab.topo.5 \
	share/man/man8/punchlab-agent.8 share/man/man8/punchlab-introducer.8 share/man/man8/punchlab-wg.8 \
	share/punchlab/nat-models/full-cone.nat share/punchlab/topologies/two-sites.topo \
	lib/systemd/system/punchlab-introducer.service lib/systemd/system/punchlab-agent.service; do
	[ -e "$dest/usr/local/$f" ] || why="$why; missing /usr/local/$f"
done
for f in introducer.conf agent.conf; do
	[ -e "$dest/etc/punchlab/$f" ] || why="$why; missing /etc/punchlab/$f"
done
for m in "$dest"/usr/local/share/man/man*/*; do
	w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || why="$why; $(basename "$m"): $w"
done
if command -v systemd-analyze >/dev/null; then
	# Verified as installed, but with ExecStart pointing into DESTDIR (so
	# systemd finds the programs) and against this machine's own units.
	mkdir -p "$dest/verify"
	for u in punchlab-introducer.service punchlab-agent.service; do
		sed "s|^ExecStart=/usr/local/|ExecStart=$dest/usr/local/|" "$dest/usr/local/lib/systemd/system/$u" >"$dest/verify/$u"
	done
	# A value systemd ignores is only a warning to it: any word is a failure.
	w=$(systemd-analyze verify --man=no "$dest/verify/punchlab-introducer.service" "$dest/verify/punchlab-agent.service" 2>&1)
	[ $? = 0 ] && [ -z "$w" ] || why="$why; systemd-analyze verify: $w"
else
	why="$why; systemd-analyze is missing (Debian: systemd)"
fi
why=${why#; }
if [ -z "$why" ]; then
	echo "PASS install: programs, man pages, models, units and configs; units verified"
	exit 0
fi
echo "FAIL install: $why"
exit 1
