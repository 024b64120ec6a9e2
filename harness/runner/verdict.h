/* The path verdict: which way a tunnel's traffic goes, decided in one
 * place for the runner and every lab test. The prober's replies say
 * whether the tunnel carries traffic; nftables counters where the two
 * sites meet ("direct") and where the relay hangs ("relay") say which way.
 * Time is cut into windows of VERDICT_WINDOW_MS; a window's path is where
 * most of its tunnel bytes went, and a path is steady after
 * VERDICT_STEADY_WINDOWS windows of it in a row. */
#ifndef PL_RUNNER_VERDICT_H
#define PL_RUNNER_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#define VERDICT_WINDOW_MS 250
#define VERDICT_STEADY_WINDOWS 4      /* a second of one path */
#define VERDICT_MIN_BYTES 500         /* a window carries at least one probe's worth */

enum path {
	PATH_UNKNOWN,    /* nothing said or seen yet (a tool that does not report) */
	PATH_NONE,       /* no traffic through the tunnel */
	PATH_DIRECT,
	PATH_RELAY,
};

/* "unknown", "none", "direct", "relay". */
const char *path_name(enum path p);
/* The inverse; PATH_UNKNOWN for anything else. */
enum path path_parse(const char *s);

struct verdict {
	enum path path;               /* of the last window that carried traffic */
	int direct_windows, relay_windows;   /* in a row, up to now */
	double time_to_direct_s;      /* when the first direct window ended (-1: none yet) */
};

void verdict_init(struct verdict *v);
/* One window, ending at_s after the start: were the prober's probes
 * answered within it, and how many tunnel bytes each counter saw. Returns
 * the window's own path (PATH_NONE when it says nothing). */
enum path verdict_window(struct verdict *v, bool answered, uint64_t direct_bytes, uint64_t relay_bytes, double at_s);
/* Has one path held for VERDICT_STEADY_WINDOWS windows in a row? */
bool verdict_steady(const struct verdict *v, enum path p);
/* A burst of known traffic through the tunnel (payload: the inner bytes
 * sent, both ways): DIRECT when the direct counter saw at least 3/4 of it
 * and the relay less than a quarter; RELAY when the relay saw at least 1.5
 * times it (each packet in and out of the introducer) and the direct
 * counter under a tenth; else NONE (lost, or split between the two). */
enum path verdict_traffic(uint64_t direct, uint64_t relay, uint64_t payload);

#endif
