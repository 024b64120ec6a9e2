# Sourced by the make bench scripts (with pl set): a lab of two hosts on
# one LAN (tests/data/wg-pair.topo), run $run; a scratch folder $tmp; pids,
# the processes the script starts, ended by pid at exit with the lab and
# the folder (never by name); ns HOST, a host's namespace.
run=$($pl topo up tests/data/wg-pair.topo | sed -n 's/^run \([0-9a-f]*\):.*/\1/p')
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	$pl topo down --run "$run" >/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ns() { echo "pl-$run-$1"; }
