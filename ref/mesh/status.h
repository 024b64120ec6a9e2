/* The agent's status socket, client side: what `punchlab-agent status`,
 * the runner's ref adapter and the lab tests read. */
#ifndef PL_MESH_STATUS_H
#define PL_MESH_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#define MESH_STATUS_DIR "/run/punchlab-agent"
#define MESH_STATUS_MAX (1 << 16)   /* the agent never answers with more */
#define MESH_STATUS_TIMEOUT_S 3     /* an agent that takes longer is stopped or stuck */

/* What a client asks for: the table, JSON, "ready" (or "waiting: " and
 * why not: registered with the introducer, a peer known), or the agent's
 * own mesh address. */
enum status_request { STATUS_TEXT, STATUS_JSON, STATUS_READY, STATUS_ADDRESS };

/* A request's word on the socket ("text", "json", "ready", "address"), and
 * back (anything else is STATUS_TEXT). */
const char *mesh_status_request_name(enum status_request req);
enum status_request mesh_status_request_parse(const char *line);
/* Ask the agent on IFNAME into buf (NUL-terminated); returns the length or
 * a negative errno (-ENOENT, -ECONNREFUSED: no agent answers there;
 * -ETIMEDOUT: one took the question and said nothing within
 * MESH_STATUS_TIMEOUT_S seconds). */
int mesh_status_ask(const char *ifname, enum status_request req, char *buf, size_t len);
/* The same for the table or JSON. */
int mesh_status_fetch(const char *ifname, bool json, char *buf, size_t len);

#endif
