#!/bin/bash
# make bench: the introducer under many agents (issue 17). Two hosts on one
# LAN (tests/data/wg-pair.topo): punchlab-introducer on b, the load
# generator (build/tests/introducer-load) on a with BENCH_SOURCES extra
# source addresses (default 64), each agent a key and a UDP port of its
# own. For each run: first registrations a second (join, PROVE, proof),
# re-registrations a second, the introducer's resident bytes per member,
# its CPU while every agent registers every 10 s (BENCH_KEEPALIVE_S,
# default 20), and relayed Mbit/s over UDP and over TCP (BENCH_SECONDS
# each, default 5).
# Runs: BENCH_AGENTS (default "1000 10000") agents that ask for peers on
# demand, BENCH_FULL_AGENTS (default 10000) that re-register in full
# messages (an X25519 each way) rather than session messages, and
# BENCH_ALL_AGENTS (default 300) that take the whole member list, for the
# contrasts. A fresh introducer for each. Writes
# results/bench/introducer.json (or BENCH_OUT). --baseline FILE: exit 1
# when a figure of a run in both got 20 % worse than FILE's.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-results/bench/introducer.json}
sources=${BENCH_SOURCES:-64}
keepalive=${BENCH_KEEPALIVE_S:-20}
secs=${BENCH_SECONDS:-5}
all_agents=${BENCH_ALL_AGENTS:-300}
agents=${BENCH_AGENTS:-1000 10000}
full_agents=${BENCH_FULL_AGENTS:-10000}
baseline=
while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?--baseline needs a file}; shift 2 ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-introducer.sh: unknown argument $1 (--baseline FILE)" >&2; exit 2 ;;
	esac
done
[ -z "$baseline" ] || [ -r "$baseline" ] || { echo "bench-introducer.sh: cannot read baseline $baseline" >&2; exit 2; }
pl=build/punchlab
# The lab, a scratch folder, and what is started in it ended by pid at exit.
. ci/bench-lab.sh
a_addr=$(ip -n "$(ns a)" -4 -o addr show dev eth0 | awk '{ split($4, x, "/"); print x[1] }')
b_addr=$(ip -n "$(ns b)" -4 -o addr show dev eth0 | awk '{ split($4, x, "/"); print x[1] }')
# The introducer's second address, and the load's many sources.
ip -n "$(ns b)" addr add 192.0.2.250/24 dev eth0
from=$a_addr
for i in $(seq 1 "$sources"); do
	ip -n "$(ns a)" addr add "192.0.2.$((99 + i))/24" dev eth0
	from="$from,192.0.2.$((99 + i))"
done
(umask 077; wg genkey >"$tmp/intro.key")
intro_pub=$(wg pubkey <"$tmp/intro.key")
cat >"$tmp/intro.conf" <<EOF
private-key-file = $tmp/intro.key
listen = $b_addr 192.0.2.250
join-secret = a bench's join secret, long enough
relay-rate = 2000000000
user = root
EOF

one_run() { # agents peers file [--full]
	ip netns exec "$(ns b)" build/punchlab-introducer --config "$tmp/intro.conf" 2>"$tmp/intro.log" &
	local ipid=$!
	pids+=("$ipid")
	for _ in $(seq 100); do ip netns exec "$(ns b)" ss -lun | grep -q "$b_addr:3478 " && break; sleep 0.05; done
	# The server is the supervisor's child: its CPU and memory are measured.
	local server
	server=$(cat "/proc/$ipid/task/$ipid/children" 2>/dev/null | awk '{ print $1 }')
	[ -n "$server" ] || { echo "bench-introducer.sh: the introducer did not start:" >&2; cat "$tmp/intro.log" >&2; exit 1; }
	ip netns exec "$(ns a)" build/tests/introducer-load --introducer "$b_addr:3478" --introducer-key "$intro_pub" \
		--join-secret "a bench's join secret, long enough" --from "$from" --agents "$1" --peers "$2" \
		--keepalive-s "$keepalive" --relay-s "$secs" --pid "$server" --json "$3" ${4:-}
	kill "$ipid"
	wait "$ipid" 2>/dev/null || true
}

names=
for n in $agents; do
	one_run "$n" on-demand "$tmp/on-demand-$n.json"
	names="$names on-demand-$n"
done
one_run "$full_agents" on-demand "$tmp/full-$full_agents.json" --full
one_run "$all_agents" all "$tmp/all-$all_agents.json"
names="$names full-$full_agents all-$all_agents"

mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$out" "$baseline" $names <<'EOF'
import json, sys, os, datetime, platform
tmp, out, baseline = sys.argv[1], sys.argv[2], sys.argv[3]
runs = {}
for name in sys.argv[4:]:
    with open(os.path.join(tmp, name + '.json')) as f:
        runs[name] = json.load(f)
cpu = ''
try:
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            cpu = line.split(':', 1)[1].strip()
            break
except OSError:
    pass
res = {
    'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
    'machine': {'cpu': cpu, 'cores': os.cpu_count(), 'kernel': platform.release()},
    'runs': runs,
}
with open(out, 'w') as f:
    json.dump(res, f, indent=1)
    f.write('\n')
print('%-18s %7s %8s %8s %8s %9s %10s %10s' % ('run', 'agents', 'first/s', 'again/s', 'B/agent', 'idle CPU',
      'relay UDP', 'relay TCP'))
for name, r in runs.items():
    print('%-18s %7d %8.0f %8.0f %8.0f %8.1f%% %7.0f Mb %7.0f Mb' % (name, r['agents'], r['first_registrations_per_s'],
          r['reregistrations_per_s'], r['rss_bytes_per_agent'], r['keepalive_cpu_percent'], r['relay_udp_mbit_s'],
          r['relay_tcp_mbit_s']))
print('written to', out)
if baseline:
    base = json.load(open(baseline)).get('runs', {})
    worse = []
    for name, r in runs.items():
        b = base.get(name)
        if not b:
            continue
        for k in ('first_registrations_per_s', 'reregistrations_per_s', 'relay_udp_mbit_s', 'relay_tcp_mbit_s'):
            if b.get(k) and r[k] < 0.8 * b[k]:
                worse.append('%s %s: %.0f, was %.0f' % (name, k, r[k], b[k]))
        # (idle CPU: and by a point at least, so that noise on a few per cent is not a regression)
        for k, slack in (('rss_bytes_per_agent', 0), ('keepalive_cpu_percent', 1.0)):
            if b.get(k) and r[k] > 1.2 * b[k] and r[k] - b[k] > slack:
                worse.append('%s %s: %.1f, was %.1f' % (name, k, r[k], b[k]))
    if worse:
        print('worse than %s by more than 20 %%:' % baseline)
        for w in worse:
            print('  ' + w)
        sys.exit(1)
    print('no figure 20 % worse than', baseline)
EOF
