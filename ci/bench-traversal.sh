#!/bin/bash
# make bench: how fast pairs go direct, and what the lab costs, in one run.
# The default matrix with ref, BENCH_REPEAT times (default 5): time to
# direct per technique (p50, p90, p99 across repeats, from the start lines
# and from the agents' registrations) and the matrix's wall time; the 21
# pairs among six models that wireguard-static takes direct (plain
# punching: cones, open, the carrier NATs), BENCH_REPEAT times with
# wireguard-static, beside ref's same pairs from the same run, as a ratio;
# building and removing each shipped topology, BENCH_BUILDS times each
# (default 20): min, median, max. Writes results/bench/traversal.json (or
# BENCH_OUT). --baseline FILE: exit 1 when a p50 or p99 of time to direct,
# or a median build or teardown time, got 20 % worse than FILE's (and by
# 10 ms at least: a few ms of noise on a 20 ms figure is not a regression).
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${BENCH_REPEAT:-5}
builds=${BENCH_BUILDS:-20}
out=${BENCH_OUT:-results/bench/traversal.json}
baseline=
while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?--baseline needs a file}; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-traversal.sh: unknown argument $1 (--baseline FILE)" >&2; exit 2 ;;
	esac
done
[ -z "$baseline" ] || [ -r "$baseline" ] || { echo "bench-traversal.sh: cannot read baseline $baseline" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-traversal.sh: the lab needs root" >&2; exit 1; }
pl=build/punchlab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
punching=full-cone,open,restricted-cone,port-restricted-cone,cgnat,cgnat-pcp

echo "time to direct: the default matrix with ref, $repeat times"
$pl run --tool ref --repeat "$repeat" --output "$tmp/ref" >"$tmp/ref.log" 2>&1 || true
tail -n 1 "$tmp/ref.log"
echo "time to direct: wireguard-static on the pairs of $punching, $repeat times"
$pl run --tool wireguard-static --models "$punching" --topology two-sites --repeat "$repeat" --output "$tmp/wgs" \
	>"$tmp/wgs.log" 2>&1 || true
tail -n 1 "$tmp/wgs.log"
for f in "$tmp/ref/results.json" "$tmp/wgs/results.json"; do
	[ -s "$f" ] || { echo "bench-traversal.sh: no $f (see the logs above)" >&2; exit 1; }
done

python3 - "$tmp" "$out" "$baseline" "$repeat" "$builds" "$punching" "$pl" <<'EOF'
import json, sys, os, datetime, math, platform, re, subprocess, time, statistics

tmp, out, baseline, repeat, builds, punching, pl = sys.argv[1:8]
repeat, builds, punching = int(repeat), int(builds), punching.split(',')


def nearest_rank(v, q):
    v = sorted(v)
    if not v:
        return None
    k = max(0, min(len(v) - 1, math.ceil(q * len(v)) - 1))   # as the runner's stats_quantile
    return v[k]


def summary(v):
    return {'n': len(v), 'p50_s': nearest_rank(v, 0.5), 'p90_s': nearest_rank(v, 0.9), 'p99_s': nearest_rank(v, 0.99)}


ref = json.load(open(os.path.join(tmp, 'ref', 'results.json')))
wgs = json.load(open(os.path.join(tmp, 'wgs', 'results.json')))


def pair_times(run, key='time_to_direct_s'):
    return [s[key] for s in run['scenarios']
            if s['topology'] == 'two-sites' and not s.get('lifecycle') and s['a'] in punching and s['b'] in punching
            and s['path'] == 'direct' and s.get(key) is not None]


def tool_of(run):
    h = run['header']
    return {'tool': h['tool'], 'version': h['tool_version'], 'commit': h['commit'], 'command': h['command'],
            'scenarios': h['scenarios'], 'wall_time_s': h['wall_time_s'],
            'as_expected': sum(1 for s in run['scenarios'] if s['as_expected'])}


ref_pairs, wgs_pairs = pair_times(ref), pair_times(wgs)
res = {
    'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
    'machine': {'cpu': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), ''),
                'cores': os.cpu_count(), 'kernel': platform.release()},
    'repeat': repeat,
    'ref': dict(tool_of(ref), matrix_wall_time_s=round(ref['header']['wall_time_s'] / repeat, 1),
                time_to_direct=ref.get('time_to_direct', [])),
    'punching_pairs': {
        'models': punching,
        'ref': summary(ref_pairs),
        'ref_from_registration': summary(pair_times(ref, 'time_to_direct_from_registration_s')),
        'wireguard_static': dict(summary(wgs_pairs), **{k: v for k, v in tool_of(wgs).items() if k != 'command'}),
    },
    'lab': {},
}
pp = res['punching_pairs']
if pp['ref']['p50_s'] and pp['wireguard_static']['p50_s']:
    pp['wireguard_static_over_ref_p50'] = round(pp['wireguard_static']['p50_s'] / pp['ref']['p50_s'], 2)

# Each shipped topology, built and removed `builds` times; its parameters
# (param lines) all full-cone.
for topo in sorted(os.listdir('topologies')):
    if not topo.endswith('.topo'):
        continue
    name = topo[:-5]
    params = [n for l in open(os.path.join('topologies', topo)) if re.match(r'\s*param\s', l) for n in l.split()[1:]]
    up_s, down_s = [], []
    for _ in range(builds):
        t = time.monotonic()
        r = subprocess.run([pl, 'topo', 'up', name] + ['%s=full-cone' % p for p in params], capture_output=True, text=True)
        up_s.append(time.monotonic() - t)
        m = re.search(r'^run ([0-9a-f]+):', r.stdout, re.M)
        if r.returncode or not m:
            sys.exit('bench-traversal.sh: topo up %s failed: %s' % (name, (r.stderr or r.stdout).strip()))
        t = time.monotonic()
        r = subprocess.run([pl, 'topo', 'down', '--run', m.group(1)], capture_output=True, text=True)
        down_s.append(time.monotonic() - t)
        if r.returncode:
            sys.exit('bench-traversal.sh: topo down %s failed: %s' % (name, r.stderr.strip()))
    res['lab'][name] = {k: {'min': round(min(v), 3), 'median': round(statistics.median(v), 3), 'max': round(max(v), 3)}
                        for k, v in (('build_s', up_s), ('teardown_s', down_s))}

with open(out, 'w') as f:
    json.dump(res, f, indent=1)
    f.write('\n')


def fmt(s):
    return '-' if s is None else '%.3f' % s


print('%-24s %4s %8s %8s %8s' % ('time to direct', 'n', 'p50 s', 'p90 s', 'p99 s'))
for t in res['ref']['time_to_direct']:
    print('%-24s %4d %8s %8s %8s' % ('ref ' + t['technique'], t['n'], fmt(t['p50_s']), fmt(t['p90_s']), fmt(t['p99_s'])))
for k in ('ref', 'ref_from_registration', 'wireguard_static'):
    t = pp[k]
    print('%-24s %4d %8s %8s %8s' % ('punching pairs, ' + k.replace('_', '-'), t['n'], fmt(t['p50_s']), fmt(t['p90_s']),
                                      fmt(t['p99_s'])))
if 'wireguard_static_over_ref_p50' in pp:
    print('wireguard-static / ref, p50: %.2f' % pp['wireguard_static_over_ref_p50'])
print('the default matrix: %.0f s (%d scenarios)' % (res['ref']['matrix_wall_time_s'], res['ref']['scenarios'] // repeat))
for name, t in res['lab'].items():
    print('%-18s build %.3f s, teardown %.3f s (medians of %d)' % (name, t['build_s']['median'], t['teardown_s']['median'],
                                                                  builds))
print('written to', out)

if baseline:
    base, worse = json.load(open(baseline)), []

    def cmp(what, now, was):
        if now is not None and was and now > 1.2 * was and now - was > 0.010:
            worse.append('%s: %.3f s, was %.3f s' % (what, now, was))

    bt = {t['technique']: t for t in base.get('ref', {}).get('time_to_direct', [])}
    for t in res['ref']['time_to_direct']:
        for q in ('p50_s', 'p99_s'):
            cmp('ref %s %s' % (t['technique'], q), t[q], bt.get(t['technique'], {}).get(q))
    for k in ('ref', 'wireguard_static'):
        for q in ('p50_s', 'p99_s'):
            cmp('punching pairs %s %s' % (k, q), pp[k][q], base.get('punching_pairs', {}).get(k, {}).get(q))
    for name, t in res['lab'].items():
        for k in ('build_s', 'teardown_s'):
            cmp('%s %s' % (name, k), t[k]['median'], base.get('lab', {}).get(name, {}).get(k, {}).get('median'))
    if worse:
        print('worse than %s by more than 20 %%:' % baseline)
        for w in worse:
            print('  ' + w)
        sys.exit(1)
    print('no figure 20 % worse than', baseline)
EOF
