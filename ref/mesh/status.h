/* The agent's status socket, client side: what `punchlab-agent status`,
 * the runner's ref adapter and the lab tests read. */
#ifndef PL_MESH_STATUS_H
#define PL_MESH_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#define MESH_STATUS_DIR "/run/punchlab-agent"
#define MESH_STATUS_MAX (1 << 16)   /* the agent never answers with more */

/* Ask the agent on IFNAME for its status (JSON or the table) into buf
 * (NUL-terminated); returns the length or a negative errno (-ENOENT,
 * -ECONNREFUSED: no agent answers there). */
int mesh_status_fetch(const char *ifname, bool json, char *buf, size_t len);

#endif
