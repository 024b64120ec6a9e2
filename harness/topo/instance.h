/* Lab instances: every topology brought up is an instance with an id (the
 * `--run ID` of the command line; not a matrix run, which is `punchlab
 * run`, nor a conformance check), and its state (namespaces,
 * pids, owner) under /run/punchlab/<id>/ so that anything punchlab made can
 * be found and removed, and nothing else is ever touched. */
#ifndef PL_INSTANCE_H
#define PL_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define INSTANCE_ID_LEN 6
#define INSTANCE_MAX_NETNS 16
#define INSTANCE_MAX_PIDS 64

struct instance {
	char id[INSTANCE_ID_LEN + 1];
	char dir[96];
	pid_t owner;
	unsigned long long owner_start;
	char topology[256];       /* as given: a shipped name or an absolute path */
	char params[160];
	long created;             /* unix time */
	int n_netns, n_pids;
	char netns[INSTANCE_MAX_NETNS][40];
	pid_t pids[INSTANCE_MAX_PIDS];
	unsigned long long pid_start[INSTANCE_MAX_PIDS];
	int n_links;                   /* impaired links: their forwarders */
	char link_node[8][32];
	pid_t link_pid[8];
	unsigned long long link_start[8];
	int n_renumbered;              /* routers given a new public address */
	char renumbered[4][16];
	uint32_t renumbered_addr[4];   /* network order */
	int n_roamed;                  /* hosts moved to another segment (fault roam) */
	char roamed[4][16], roamed_to[4][32];
	uint32_t roamed_addr[4];       /* their address there, network order */
};

/* A new instance owned by this process; state written before anything is made. */
int instance_create(struct instance *r, const char *topology, const char *params);
/* Hand the instance to another process (the keeper of a `topo up`). */
int instance_set_owner(struct instance *r, pid_t owner);
/* Record a namespace (before it is made) or a process (after it starts). */
int instance_note_netns(struct instance *r, const char *ns);
int instance_note_pid(struct instance *r, pid_t pid);
/* Record pid (as instance_note_pid) and how it was started: its argv, as
 * which user and group, from which folder, so that `fault restart` starts
 * it again the same way (and only what the instance started). */
int instance_note_command(struct instance *r, pid_t pid, char *const argv[]);
/* The same, started as uid/gid from cwd (a restart of a recorded one). */
int instance_note_started(struct instance *r, pid_t pid, char *const argv[], unsigned uid, unsigned gid, const char *cwd);
#define INSTANCE_MAX_ARGS 63
struct instance_command {
	unsigned uid, gid;
	char *cwd;
	char *argv[INSTANCE_MAX_ARGS + 1];   /* NULL-terminated, into buf */
	char buf[8192];
};
/* The command recorded for pid, if this instance started it (and it is
 * the same process: its start time is part of the record). -ENOENT: none,
 * -ESRCH: no such process. */
int instance_command(const struct instance *r, pid_t pid, struct instance_command *c);
/* Record pid as the forwarder that impairs NODE's link. */
int instance_note_forwarder(struct instance *r, const char *node, pid_t pid);
/* The nodes whose link forwarder has died (the link then carries nothing),
 * space-separated into names; returns how many. */
int instance_dead_links(const struct instance *r, char *names, size_t len);
/* Leave the instance up after the caller exits: a small keeper process owns it
 * until `topo down` (SIGTERM) removes it. */
int instance_detach(struct instance *r);
/* Record that router NODE now has public address ADDR (network order). */
int instance_note_renumber(struct instance *r, const char *node, uint32_t addr);
/* Host NODE now sits on SEGMENT with address ADDR (fault roam); kept in
 * the state for later faults. */
int instance_note_roam(struct instance *r, const char *node, const char *segment, uint32_t addr);
/* Namespace name for node NODE of instance ID: "pl-ID-NODE". */
void instance_netns_name(const char *id, const char *node, char *buf, size_t len);
/* Read an instance's state. -ENOENT if there is no such instance. */
int instance_load(const char *id, struct instance *r);
/* Stop the instance's processes (and anything running in its namespaces), remove
 * its namespaces and state. Safe to call twice. */
int instance_destroy(const char *id);
/* Ids of existing instances, sorted by creation; returns the count. */
int instance_list(char ids[][INSTANCE_ID_LEN + 1], int max);
/* Is the instance's owner still alive? */
bool instance_owner_alive(const struct instance *r);
/* Remove instances whose owner died; returns how many. */
int instance_reap_dead(void);
/* The instance meant by ID (NULL: the only one); err lists instances when ambiguous. */
int instance_pick(const char *id, struct instance *r, char *err, size_t errlen);
/* Start time (clock ticks since boot) of a process, 0 if gone. */
unsigned long long instance_proc_start(pid_t pid);

#endif
