# A router command (punchlab conform --router-cmd 'sh two-minds.sh'): four
# outside addresses used by turns (RFC 4787 REQ-2 fails), and two minds about
# ports: an even local port is kept, an odd one randomised, so the mapping
# behaviour changes with a condition (REQ-11 fails).
set -e
for a in 40 41 42 43; do ip addr add 203.0.113.$a/24 dev wan; done
nft -f - <<'NFT'
table ip twominds {
	chain keep {
		snat to 203.0.113.40-203.0.113.43
	}
	chain scramble {
		snat to 203.0.113.40-203.0.113.43 fully-random
	}
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "wan" udp sport & 1 == 0 jump keep
		oifname "wan" jump scramble
	}
}
NFT
