# Shared by the adapters shipped in tools/ (sourced, not a tool itself):
# waiting without fixed sleeps, and ending what an adapter started by pid.

# For `available`: every program after the first argument on the PATH, or
# say which one is not and the line that installs it ($1), and exit 1.
need() {
	line=$1
	shift
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 && continue
		echo "$p is not installed: $line"
		exit 1
	done
}

# Wait (at most PUNCHLAB_TIMEOUT seconds) until UDP port $1 is bound in
# this host's namespace (over IPv4, or dual-stack IPv6 as Go binds).
wait_udp() {
	# the local address's port (the second field), not a peer's
	hex=$(printf '^ *[0-9]+: [0-9A-F]+:%04X ' "$1")
	n=0
	until grep -Eq "$hex" /proc/net/udp /proc/net/udp6; do
		n=$((n + 1))
		[ "$n" -le $((PUNCHLAB_TIMEOUT * 50)) ] || { echo "UDP port $1 was not bound within ${PUNCHLAB_TIMEOUT} s" >&2; exit 1; }
		sleep 0.02
	done
}

# Wait (at most PUNCHLAB_TIMEOUT seconds) until the command "$@" succeeds.
wait_for() {
	n=0
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -le $((PUNCHLAB_TIMEOUT * 50)) ] || { echo "waited ${PUNCHLAB_TIMEOUT} s for: $*" >&2; exit 1; }
		sleep 0.02
	done
}

# Is process $1 running (not gone, not a zombie its new parent has yet
# to reap: the adapter that started it has exited)?
running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The process whose pid is in file $1 ends (SIGTERM, up to 2 s to clean up).
stop_pidfile() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	# only a process of this host's namespace: after a crash (fault kill)
	# the pid may have been reused by anyone
	[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$(readlink /proc/self/ns/net)" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	n=0
	while running "$pid" && [ "$n" -lt 100 ]; do
		n=$((n + 1))
		sleep 0.02
	done
}
