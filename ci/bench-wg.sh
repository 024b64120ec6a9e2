#!/bin/bash
# make bench: tunnel throughput with iperf3 between two namespaces, in one
# run: ours<->ours, wireguard-go<->wireguard-go, ours<->wireguard-go, and
# plain veth as the ceiling. Writes results/bench/wg.json.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-5}
pl=build/punchlab
if ! command -v iperf3 >/dev/null; then
	[ "$(id -u)" = 0 ] || { echo "make bench needs iperf3 (apt-get install iperf3) and root" >&2; exit 1; }
	apt-get install -y -qq --no-install-recommends iperf3 >/dev/null
fi
run=$($pl topo up tests/data/wg-pair.topo | sed -n 's/^run \([0-9a-f]*\):.*/\1/p')
trap '$pl topo down --run "$run" >/dev/null' EXIT
x() { $pl topo exec --run "$run" "$@"; }
tmp=$(mktemp -d)
trap '$pl topo down --run "$run" >/dev/null; rm -rf "$tmp"' EXIT
for h in a b; do
	wg genkey >"$tmp/$h.key"; wg pubkey <"$tmp/$h.key" >"$tmp/$h.pub"
done

# iperf3 from a to DST inside run; prints Mbit/s received.
measure() {
	local dst=$1
	x b iperf3 -s -1 -B "$dst" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.5
	x a iperf3 -c "$dst" -t "$secs" -f m 2>/dev/null | awk '/receiver/ { print $(NF-2) }'
	wait $srv 2>/dev/null || true
}

start_wg() { # host impl ifname
	if [ "$2" = ours ]; then
		x "$1" build/punchlab-wg "$3" >/dev/null 2>&1 &
	else
		x "$1" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$3" >/dev/null 2>&1 &
	fi
	for _ in $(seq 100); do [ -S "/var/run/wireguard/$3.sock" ] && break; sleep 0.05; done
}

tunnel() { # impl_a impl_b -> Mbit/s
	local ia="wa$run" ib="wb$run"
	start_wg a "$1" "$ia"; start_wg b "$2" "$ib"
	x a wg set "$ia" private-key "$tmp/a.key" listen-port 51820 peer "$(cat "$tmp/b.pub")" endpoint 192.0.2.3:51821 allowed-ips 10.9.0.2/32
	x b wg set "$ib" private-key "$tmp/b.key" listen-port 51821 peer "$(cat "$tmp/a.pub")" endpoint 192.0.2.2:51820 allowed-ips 10.9.0.1/32
	x a ip addr add 10.9.0.1/24 dev "$ia"; x a ip link set "$ia" up
	x b ip addr add 10.9.0.2/24 dev "$ib"; x b ip link set "$ib" up
	measure 10.9.0.2
	# Stop both daemons (SIGTERM: they remove their UAPI sockets).
	for p in $(pgrep -f "$ia|$ib"); do kill "$p" 2>/dev/null || true; done
	sleep 0.5
}

veth=$(measure 192.0.2.3)
ours=$(tunnel ours ours)
wggo=$(tunnel wggo wggo)
mixed=$(tunnel ours wggo)
ratio=$(awk -v a="$ours" -v b="$wggo" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cat >results/bench/wg.json <<JSON
{"ours_mbps": $ours, "wireguard_go_mbps": $wggo, "mixed_mbps": $mixed, "veth_mbps": $veth,
 "ratio_ours_to_wireguard_go": $ratio, "seconds_per_run": $secs,
 "cpu": "$cpu", "cores": $(nproc), "kernel": "$(uname -r)", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "wireguard_go": "$(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null)"}
JSON
cat results/bench/wg.json
