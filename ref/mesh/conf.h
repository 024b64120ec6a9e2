/* Configuration of the introducer and the agent: small "key = value"
 * files (a '#' starts a comment), parsed into plain structs; flags on the
 * command line set the same keys. Parsing never touches the network. */
#ifndef PL_MESH_CONF_H
#define PL_MESH_CONF_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MESH_MAX_ALLOW 256
#define MESH_DEFAULT_PORT 3478
#define MESH_DEFAULT_POOL4 "100.100.0.0/16"
#define MESH_DEFAULT_POOL6 "fd70:6c6d:6573::/48"

struct mesh_member_conf {
	uint8_t key[WG_KEY_LEN];
	char name[MESH_NAME_LEN + 1];
};

#define MESH_WARN_LEN 200

struct introducer_conf {
	char warning[MESH_WARN_LEN];        /* something to say at start ("" none) */
	bool has_key;
	uint8_t private_key[WG_KEY_LEN];
	struct wg_endpoint listen[2];        /* two addresses, one port each; TCP on the first */
	int n_listen;
	struct wg_endpoint listen6;          /* an IPv6 address agents also register on (family 0: none) */
	struct mesh_member_conf allow[MESH_MAX_ALLOW];
	int n_allow;
	bool has_join;
	uint8_t join[32];                    /* BLAKE2s of the join secret */
	uint32_t pool4;                      /* network order */
	uint8_t plen4;
	uint8_t pool6[16];
	uint8_t plen6;
	char user[32];                       /* drop to this user after opening sockets ("" keeps root) */
	uint32_t relay_rate;                 /* bytes per second per member */
	bool tcp;
};

struct agent_conf {
	char warning[MESH_WARN_LEN];        /* something to say at start ("" none) */
	bool has_key;
	uint8_t private_key[WG_KEY_LEN];
	bool has_introducer_key;
	uint8_t introducer_key[WG_KEY_LEN];
	struct wg_endpoint introducer[2];
	int n_introducer;
	/* Given as DNS names (""; an address): resolved by agent_conf_resolve
	 * at start, and again when the introducer stops answering. */
	char introducer_host[2][128];
	uint16_t introducer_port[2];
	int n_introducer_given;
	struct wg_endpoint introducer6;      /* its IPv6 address, registered on too (family 0: none) */
	bool introducer6_given;              /* by introducer6 (else the first name's IPv6 address, if any) */
	char interface[16];
	char name[MESH_NAME_LEN + 1];
	uint16_t listen_port;
	bool has_join;
	uint8_t join[32];
	int mtu;
	unsigned keepalive_s;                /* registration refresh (mapping keepalive toward the introducer) */
	unsigned ping_ms;                    /* direct path checks */
	bool probe_impossible;               /* punch pairs the NAT classes say cannot go direct, too */
	bool port_mapping;                   /* ask our router to map our port (UPnP IGD, NAT-PMP, PCP); default yes */
	bool peers_on_demand;                /* peers = on-demand: ask the introducer for a peer when a packet is for it */
};

void introducer_conf_defaults(struct introducer_conf *c);
void agent_conf_defaults(struct agent_conf *c);
/* Set one key; origin/line name the place for the error message.
 * -EINVAL (with err) for an unknown key or a bad value. */
int introducer_conf_set(struct introducer_conf *c, const char *key, const char *value, const char *origin,
			unsigned line, char *err, size_t errlen);
int agent_conf_set(struct agent_conf *c, const char *key, const char *value, const char *origin, unsigned line,
		   char *err, size_t errlen);
/* Parse a whole file's text (buf, len) into c. */
int introducer_conf_parse(struct introducer_conf *c, const char *buf, size_t len, const char *origin, char *err,
			  size_t errlen);
int agent_conf_parse(struct agent_conf *c, const char *buf, size_t len, const char *origin, char *err, size_t errlen);
/* One argument of a mesh program's command line, argv[*i]: --config FILE
 * (read and parsed whole) or --KEY VALUE (any configuration key as a
 * flag). 1 if it was one (*i then points at its last word), 0 if it is not
 * ours, -EINVAL (err says why) on an error. One loader for both programs. */
int introducer_conf_arg(struct introducer_conf *c, int argc, char **argv, int *i, char *err, size_t errlen);
int agent_conf_arg(struct agent_conf *c, int argc, char **argv, int *i, char *err, size_t errlen);
/* Lines "KEY NAME" of an allowlist file. */
int introducer_allowlist_parse(struct introducer_conf *c, const char *buf, size_t len, const char *origin, char *err,
			       size_t errlen);
/* What is still missing for the daemon to start: -EINVAL with err. */
int introducer_conf_check(const struct introducer_conf *c, char *err, size_t errlen);
int agent_conf_check(const struct agent_conf *c, char *err, size_t errlen);
/* The join proof both sides compare: BLAKE2s-256 of the secret. */
void mesh_join_hash(const char *secret, uint8_t out[static 32]);

/* Resolve the introducer's names (IPv4): each name its first address; a
 * single name with two addresses gives both (the two an agent measures
 * its NAT against); and, unless introducer6 was given, the first name's
 * first IPv6 address as introducer6 (none: none). 0, or -errno with err
 * naming what failed. Changes nothing for addresses given as such. */
int agent_conf_resolve(struct agent_conf *c, char *err, size_t errlen);

#endif
