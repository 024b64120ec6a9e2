/* A tool under test is a folder with one executable, `adapter`, in any
 * language, called with a verb (docs/adapters.md): available, version,
 * start ROLE, path PEER, stop ROLE. The harness builds the network, runs
 * `start relay` on the introducer host and `start peer` on each peer, in
 * their namespaces, with everything the tool needs in the environment, and
 * reads one line from each: "ready" from the relay, "tunnel ADDR" from a
 * peer (the address inside the tunnel that reaches it). */
#ifndef PL_RUNNER_ADAPTER_H
#define PL_RUNNER_ADAPTER_H

#include "verdict.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ADAPTER_NAME 32
#define ADAPTER_MAX_DIRS 16
#define ADAPTER_MAX 64
#define ADAPTER_LINE 256
/* Ports a tool may take on every host; the harness's own are outside. */
#define ADAPTER_PORTS "20000-29999"
/* How long the short verbs may take. */
#define ADAPTER_VERB_MS 10000
#define ADAPTER_AVAILABLE_MS 60000
#define ADAPTER_PATH_MS 2000

struct adapter {
	char name[ADAPTER_NAME];
	char dir[PATH_MAX];        /* the tool's folder */
	char program[PATH_MAX];    /* dir/adapter */
};

/* Where tools are looked for, in order: each --tool-dir, then each folder
 * of $PUNCHLAB_TOOL_PATH (colon-separated), then the project's tools/.
 * Each folder holds tools as NAME/adapter. */
struct adapter_path {
	const char *dirs[ADAPTER_MAX_DIRS];
	int n;
};
/* Add a --tool-dir; -E2BIG when there are too many. */
int adapter_path_add(struct adapter_path *p, const char *dir);

/* Is NAME a tool's name (letters, digits, '-', '_', '.', not starting
 * with '.')? */
bool adapter_name_ok(const char *name);
/* The tool NAME: 0, or -ENOENT with err naming every folder looked in
 * (-EINVAL for a name that cannot be a tool's, -EACCES for an adapter
 * that is not executable). */
int adapter_find(const struct adapter_path *p, const char *name, struct adapter *a, char *err, size_t errlen);
/* Every tool found (a name once: the first folder's wins), sorted by
 * name within each folder; returns how many. */
int adapter_list(const struct adapter_path *p, struct adapter *out, int max);

/* The environment every verb gets: PUNCHLAB_BIN (the folder of
 * punchlab's programs) and PUNCHLAB_TOOL_DIR, then per host the rest. */
struct adapter_env {
	char run_id[16], host[32], role[8], index[8], dir[PATH_MAX], relay[64], peers[64], timeout[16];
};

/* What a tool printed, as one line for a message: whitespace off both
 * ends, line breaks as "; ", control characters as spaces. */
void adapter_one_line(const char *in, char *out, size_t len);
/* `adapter available`: true on exit 0; else why holds what it printed
 * (or why it could not be run). */
bool adapter_available(const struct adapter *a, char *why, size_t len);
/* `adapter version`: its first line ("" when it says nothing). */
void adapter_version(const struct adapter *a, char *buf, size_t len);

/* `adapter transport`: what the tool's traffic between peers rides, "udp"
 * (*tcp false) or "tcp"; an adapter without the verb (exit 2) is UDP. 0,
 * or -EINVAL with err saying what it said instead. */
int adapter_transport(const struct adapter *a, bool *tcp, char *err, size_t errlen);
/* What a transport line says: 0 with *tcp set, or -EINVAL. */
int adapter_parse_transport(const char *line, bool *tcp);

/* A start line: "ready" for a relay; for a peer "tunnel A.B.C.D" (*port
 * 0) or "udp A.B.C.D:PORT" (a UDP endpoint on the peer's host that the
 * tool carries to the other peer, where it delivers to the harness's echo
 * on PUNCHLAB_PROBE's port): *addr in network order, *port in host order.
 * 0, or -EINVAL with err saying what was expected. */
int adapter_parse_line(const char *line, bool relay, uint32_t *addr, uint16_t *port, char *err, size_t errlen);
/* A path line: "direct", "relay" or "unknown", then "settled" when the
 * tool has stopped trying for better. 0, or -EINVAL. */
int adapter_parse_path(const char *line, enum path *path, bool *settled);

#endif
