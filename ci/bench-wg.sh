#!/bin/bash
# make bench: WireGuard through two namespaces on one LAN, in one run:
# plain veth (the ceiling), ours<->ours, wireguard-go<->wireguard-go and
# ours<->wireguard-go (and ours<->ours with --no-gro, TCP only: what
# joining received segments gains), in BENCH_ROUNDS interleaved rounds (default 5) of
# BENCH_SECONDS each (default 5): bulk TCP (Mbit/s), 64-byte UDP datagrams
# (packets a second received), and the CPU-seconds the two tunnel daemons
# spent per GB carried (cycles per byte where perf counters are missing).
# Medians with min and max; ratios ours/wireguard-go from the same run.
# Writes results/bench/wg.json (or BENCH_OUT). --baseline FILE: exit 1 when
# a median got 20 % worse than FILE's (Mbit/s or packets a second lower,
# CPU per GB higher).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-5}
out=${BENCH_OUT:-results/bench/wg.json}
baseline=
while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?--baseline needs a file}; shift 2 ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-wg.sh: unknown argument $1 (--baseline FILE)" >&2; exit 2 ;;
	esac
done
[ -z "$baseline" ] || [ -r "$baseline" ] || { echo "bench-wg.sh: cannot read baseline $baseline" >&2; exit 2; }
pl=build/punchlab
if ! command -v iperf3 >/dev/null; then
	[ "$(id -u)" = 0 ] || { echo "make bench needs iperf3 (apt-get install iperf3) and root" >&2; exit 1; }
	apt-get install -y -qq --no-install-recommends iperf3 >/dev/null
fi
# The lab, a scratch folder, and what is started in it ended by pid at exit.
. ci/bench-lab.sh
for h in a b; do
	(umask 077; wg genkey >"$tmp/$h.key")
	wg pubkey <"$tmp/$h.key" >"$tmp/$h.pub"
done

# iperf3 from a to DST: TCP bulk or 64-byte UDP; its JSON to FILE.
iperf() { # dst tcp|udp file
	ip netns exec "$(ns b)" iperf3 -s -1 -B "$1" >/dev/null 2>&1 &
	local srv=$!
	for _ in $(seq 50); do ip netns exec "$(ns b)" ss -ltn | grep -q ":5201 " && break; sleep 0.05; done
	if [ "$2" = tcp ]; then
		ip netns exec "$(ns a)" iperf3 -c "$1" -t "$secs" -J >"$3" 2>/dev/null || true
	else
		ip netns exec "$(ns a)" iperf3 -c "$1" -u -l 64 -b 0 -t "$secs" -J >"$3" 2>/dev/null || true
	fi
	wait "$srv" 2>/dev/null || true
}

# The CPU ticks (user + system) process PID has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

start_wg() { # host impl ifname -> its pid in $wgpid
	if [ "$2" = ours ]; then
		ip netns exec "$(ns "$1")" build/punchlab-wg "$3" >/dev/null 2>&1 &
	elif [ "$2" = ours-no-gro ]; then
		ip netns exec "$(ns "$1")" build/punchlab-wg --no-gro "$3" >/dev/null 2>&1 &
	else
		ip netns exec "$(ns "$1")" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$3" \
			>/dev/null 2>&1 &
	fi
	wgpid=$!
	pids+=("$wgpid")
	for _ in $(seq 100); do [ -S "/var/run/wireguard/$3.sock" ] && break; sleep 0.05; done
}

# One round of one pair: TCP and UDP through a tunnel of impl_a and
# impl_b, each result and the daemons' CPU ticks in files named NAME.
tunnel() { # impl_a impl_b name [tcp-only]
	local ia="wa$run" ib="wb$run" pa pb t0
	start_wg a "$1" "$ia"; pa=$wgpid
	start_wg b "$2" "$ib"; pb=$wgpid
	ip netns exec "$(ns a)" wg set "$ia" private-key "$tmp/a.key" listen-port 51820 peer "$(cat "$tmp/b.pub")" \
		endpoint 192.0.2.3:51821 allowed-ips 10.9.0.2/32
	ip netns exec "$(ns b)" wg set "$ib" private-key "$tmp/b.key" listen-port 51821 peer "$(cat "$tmp/a.pub")" \
		endpoint 192.0.2.2:51820 allowed-ips 10.9.0.1/32
	ip netns exec "$(ns a)" ip addr add 10.9.0.1/24 dev "$ia"; ip netns exec "$(ns a)" ip link set "$ia" up
	ip netns exec "$(ns b)" ip addr add 10.9.0.2/24 dev "$ib"; ip netns exec "$(ns b)" ip link set "$ib" up
	ip netns exec "$(ns a)" ping -c 1 -W 2 10.9.0.2 >/dev/null || true   # the handshake, before timing
	t0=$(( $(ticks "$pa") + $(ticks "$pb") ))
	iperf 10.9.0.2 tcp "$tmp/$3.tcp.$round"
	echo $(( $(ticks "$pa") + $(ticks "$pb") - t0 )) >"$tmp/$3.ticks.$round"
	[ "${4:-}" = tcp-only ] || iperf 10.9.0.2 udp "$tmp/$3.udp.$round"
	# SIGTERM: each removes its UAPI socket. Their pids are forgotten
	# once reaped (a pid may be another process's later).
	kill "$pa" "$pb" 2>/dev/null || true
	wait "$pa" "$pb" 2>/dev/null || true
	pids=()
}

for round in $(seq "$rounds"); do
	iperf 192.0.2.3 tcp "$tmp/veth.tcp.$round"
	iperf 192.0.2.3 udp "$tmp/veth.udp.$round"
	tunnel ours ours ours
	tunnel wggo wggo wireguard_go
	tunnel ours wggo mixed
	tunnel ours-no-gro ours-no-gro ours_no_gro tcp-only
	echo "bench: round $round of $rounds done" >&2
done
mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$rounds" "$secs" "$out" "$(getconf CLK_TCK)" "${baseline}" <<'PY'
import json, statistics, sys, os, datetime, platform, subprocess
tmp, rounds, secs, out, hz, baseline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
names = ["veth", "ours", "wireguard_go", "mixed", "ours_no_gro"]
def load(name, kind, r):
    try:
        with open(f"{tmp}/{name}.{kind}.{r}") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1), "runs": len(xs)}
tcp, udp, cpu = {}, {}, {}
for n in names:
    t, u, c = [], [], []
    for r in range(1, rounds + 1):
        j = load(n, "tcp", r)
        mbps = j["end"]["sum_received"]["bits_per_second"] / 1e6 if j and "end" in j and "sum_received" in j["end"] else None
        t.append(mbps)
        j = load(n, "udp", r)
        if j and "end" in j and "sum" in j["end"]:
            s = j["end"]["sum"]
            u.append((s.get("packets", 0) - s.get("lost_packets", 0)) / s.get("seconds", secs))
        else:
            u.append(None)
        if n != "veth" and mbps:
            try:
                ticks = int(open(f"{tmp}/{n}.ticks.{r}").read())
                gb = mbps * secs / 8000.0
                c.append(ticks / hz / gb)
            except (OSError, ValueError):
                pass
    tcp[n] = spread(t)
    if spread(u):
        udp[n] = spread(u)
    if n != "veth":
        cpu[n] = spread(c)
def ratio(d, a, b):
    return round(d[a]["median"] / d[b]["median"], 2) if d.get(a) and d.get(b) and d[b]["median"] else None
try:
    wggo = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wireguard-go"], capture_output=True, text=True).stdout
except OSError:
    wggo = ""
cpuname = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
res = {
    "rounds": rounds, "seconds_per_run": secs, "interleaved": True,
    "tcp_mbps": tcp, "udp64_pps": udp, "cpu_seconds_per_gb": cpu,
    "ratio_ours_to_wireguard_go": {"tcp": ratio(tcp, "ours", "wireguard_go"), "udp64": ratio(udp, "ours", "wireguard_go"),
                                   "cpu_seconds_per_gb": ratio(cpu, "ours", "wireguard_go")},
    "ratio_gro_to_no_gro": {"tcp": ratio(tcp, "ours", "ours_no_gro"), "cpu_seconds_per_gb": ratio(cpu, "ours", "ours_no_gro")},
    "cpu": cpuname, "cores": os.cpu_count(), "kernel": platform.release(),
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "wireguard_go": wggo,
}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
def med(d, k):
    return d[k]["median"] if d.get(k) else None
print(f"bench: {rounds} rounds of {secs} s, medians (min-max):")
for n in names:
    t, u = tcp.get(n), udp.get(n)
    line = f"  {n:13s} TCP {t['median'] if t else '-':>8} Mbit/s ({t['min'] if t else '-'}-{t['max'] if t else '-'})"
    line += f"  UDP64 {u['median'] if u else '-':>9} pkt/s"
    if n in cpu and cpu[n]:
        line += f"  {cpu[n]['median']} CPU-s/GB"
    print(line)
print(f"  ours / ours --no-gro: TCP {res['ratio_gro_to_no_gro']['tcp']}, CPU per GB {res['ratio_gro_to_no_gro']['cpu_seconds_per_gb']}")
print(f"  ours / wireguard-go: TCP {res['ratio_ours_to_wireguard_go']['tcp']}, UDP64 {res['ratio_ours_to_wireguard_go']['udp64']}, "
      f"CPU per GB {res['ratio_ours_to_wireguard_go']['cpu_seconds_per_gb']}; written to {out}")
if baseline:
    base = json.load(open(baseline))
    worse = []
    for key, higher_better in (("tcp_mbps", True), ("udp64_pps", True), ("cpu_seconds_per_gb", False)):
        for n, v in res.get(key, {}).items():
            b = (base.get(key) or {}).get(n)
            if not v or not isinstance(b, dict) or not b.get("median"):
                continue
            if (higher_better and v["median"] < 0.8 * b["median"]) or (not higher_better and v["median"] > 1.2 * b["median"]):
                worse.append(f"{key} {n}: {v['median']} against {b['median']}")
    if worse:
        print("bench: 20 % or more worse than " + baseline + ": " + "; ".join(worse))
        sys.exit(1)
    print(f"bench: nothing 20 % worse than {baseline}")
PY
