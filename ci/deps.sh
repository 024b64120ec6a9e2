#!/bin/sh
# Install the Debian/Ubuntu packages punchlab needs (and those named as
# arguments: what only the tests use), when run as root and only those
# missing (nothing happens when all are present).
set -eu
PKGS="build-essential pkg-config clang libmnl-dev libnftnl-dev libcmocka-dev libsodium-dev libpcap-dev libjson-c-dev libyaml-dev libnice-dev
libnatpmp-dev libminiupnpc-dev miniupnpd-nftables
nftables iproute2 stun-client stun-server procps wireguard-go wireguard-tools iputils-ping $*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "punchlab: missing packages:$missing; run as root (sudo make ...) or install them" >&2
	exit 1
fi
echo "punchlab: installing$missing"
export DEBIAN_FRONTEND=noninteractive
[ "${PUNCHLAB_APT_UPDATED:-}" = 1 ] || apt-get update -qq
# --no-install-recommends: stun-server would otherwise pull in more than we need.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian's stun-server starts a system-wide stund; the lab runs its own.
if command -v service >/dev/null 2>&1; then service stun-server stop >/dev/null 2>&1 || true; fi
