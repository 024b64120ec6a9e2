/* Lifecycle scenarios: a pair that is up, then something happens to it
 * (a NAT reboots, the network goes quiet past the mapping timeout, the
 * introducer dies, a carrier renumbers), and the tunnel must recover. */
#include "runner.h"

#include <string.h>

static const struct lifecycle lifecycles[] = {
	{ "idle-past-timeout", "traffic, 25 s of silence (the NATs' mappings live 20 s), traffic again", "two-sites",
	  "@short-timeout.nat", "@short-timeout.nat", "", "", "", LC_IDLE, "", "", "", false, 25, 10, LC_DUR_NONE, 0 },
	{ "nat-reboot-midstream", "site a's NAT forgets every flow while traffic runs", "two-sites", "symmetric",
	  "full-cone", "", "", "", LC_FAULT, "nat-reboot", "nat-a", "", false, 0, 12, LC_DUR_NONE, 0 },
	{ "mapping-expire", "site a's NAT drops its UDP mappings, as after an idle timeout", "two-sites",
	  "port-restricted-cone", "restricted-cone", "", "", "", LC_FAULT, "mapping-expire", "nat-a", "", false, 0, 12, LC_DUR_NONE, 0 },
	{ "introducer-down", "the introducer (relay) dies after the direct path is up", "two-sites", "port-restricted-cone",
	  "full-cone", "", "", "", LC_KILL_RELAY, "", "", "", false, 0, 8, LC_DUR_NONE, 0 },
	{ "introducer-down-early", "the introducer dies before the direct path is up: the peers must punch on their own",
	  "two-sites", "port-restricted-cone", "restricted-cone", "", "", "", LC_KILL_RELAY, "", "", "", true, 0, 20, LC_DUR_NONE, 0 },
	{ "renumber", "site a's NAT reboots with a new public address", "two-sites", "full-cone", "port-restricted-cone", "",
	  "", "", LC_FAULT, "nat-reboot", "nat-a", "renumber", false, 0, 15, LC_DUR_NONE, 0 },
	{ "nat-full", "site a's NAT has no port left for a new flow: the tunnel's own flows must carry on", "two-sites",
	  "port-restricted-cone", "full-cone", "", "", "", LC_FAULT, "port-exhaust", "nat-a", "64512", false, 0, 10, LC_DUR_NONE, 0 },
	{ "three-peers", "three agents behind three different NATs: every pair must connect, directly where it can",
	  "three-sites", "symmetric", "restricted-cone", "full-cone", "", "", LC_NONE, "", "", "", false, 0, 6, LC_DUR_NONE, 0 },
	{ "lossy-path", "100 ms RTT and 2 % loss on a's link", "two-sites", "port-restricted-cone", "full-cone", "", "a",
	  "delay=50ms,loss=2%", LC_NONE, "", "", "", false, 0, 10, LC_DUR_NONE, 0 },
	/* Time itself: a tunnel must live for days. */
	{ "steady", "a pair up with traffic for --duration (default 10 min): every path change recorded", "two-sites",
	  "port-restricted-cone", "full-cone", "", "", "", LC_NONE, "", "", "", false, 0, 600, LC_DUR_WATCH, 0 },
	{ "idle-long", "--duration of silence (default 5 min: past every mapping timeout), then traffic", "two-sites",
	  "port-restricted-cone", "full-cone", "", "", "", LC_IDLE, "", "", "", false, 300, 15, LC_DUR_SILENCE, 0 },
	/* What laptops and phones do to a tunnel. */
	{ "sleep-wake", "a sleeps (its processes stopped) for --duration (default 3 min) while its NAT's mappings (20 s) expire, "
	  "then wakes", "two-sites", "@short-timeout.nat", "@short-timeout.nat", "", "", "", LC_SLEEP, "", "", "", false, 180, 20,
	  LC_DUR_SILENCE, 0 },
	{ "roam", "a moves from site a to site c (another NAT) while traffic runs, as a laptop changes Wi-Fi", "three-sites",
	  "port-restricted-cone", "full-cone", "restricted-cone", "", "", LC_FAULT, "roam", "a", "site-c", false, 0, 20,
	  LC_DUR_NONE, 0 },
	{ "mtu-blackhole", "site a's NAT drops every packet over 1280 bytes and sends no ICMP error (a path MTU black hole); "
	  "probes of 1228 bytes with don't-fragment, as ping -M do -s 1200, must still get through", "two-sites",
	  "port-restricted-cone", "full-cone", "", "", "", LC_FAULT, "mtu-blackhole", "nat-a", "1280", false, 0, 20,
	  LC_DUR_NONE, 1228 },
};

const struct lifecycle *runner_lifecycle_find(const char *name)
{
	for (size_t i = 0; i < sizeof(lifecycles) / sizeof(lifecycles[0]); i++)
		if (!strcmp(lifecycles[i].name, name))
			return &lifecycles[i];
	return NULL;
}

int runner_lifecycles(const struct lifecycle **out, int max)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(lifecycles) / sizeof(lifecycles[0]) && n < max; i++)
		out[n++] = &lifecycles[i];
	return n;
}
