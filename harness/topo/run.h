/* Runs: every topology brought up has an id, and its state (namespaces,
 * pids, owner) under /run/punchlab/<id>/ so that anything punchlab made can
 * be found and removed, and nothing else is ever touched. */
#ifndef PL_RUN_H
#define PL_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RUN_ID_LEN 6
#define RUN_MAX_NETNS 16
#define RUN_MAX_PIDS 64

struct run {
	char id[RUN_ID_LEN + 1];
	char dir[96];
	pid_t owner;
	unsigned long long owner_start;
	char topology[256];       /* as given: a shipped name or an absolute path */
	char params[160];
	long created;             /* unix time */
	int n_netns, n_pids;
	char netns[RUN_MAX_NETNS][40];
	pid_t pids[RUN_MAX_PIDS];
	unsigned long long pid_start[RUN_MAX_PIDS];
	int n_renumbered;              /* routers given a new public address */
	char renumbered[4][16];
	uint32_t renumbered_addr[4];   /* network order */
};

/* New run owned by this process; state written before anything is made. */
int run_create(struct run *r, const char *topology, const char *params);
/* Hand the run to another process (the keeper of a `topo up`). */
int run_set_owner(struct run *r, pid_t owner);
/* Record a namespace (before it is made) or a process (after it starts). */
int run_note_netns(struct run *r, const char *ns);
int run_note_pid(struct run *r, pid_t pid);
/* Leave the run up after the caller exits: a small keeper process owns it
 * until `topo down` (SIGTERM) removes it. */
int run_detach(struct run *r);
/* Record that router NODE now has public address ADDR (network order). */
int run_note_renumber(struct run *r, const char *node, uint32_t addr);
/* Namespace name for node NODE of run ID: "pl-ID-NODE". */
void run_netns_name(const char *id, const char *node, char *buf, size_t len);
/* Read a run's state. -ENOENT if there is no such run. */
int run_load(const char *id, struct run *r);
/* Stop the run's processes (and anything running in its namespaces), remove
 * its namespaces and state. Safe to call twice. */
int run_destroy(const char *id);
/* Ids of existing runs, sorted by creation; returns the count. */
int run_list(char ids[][RUN_ID_LEN + 1], int max);
/* Is the run's owner still alive? */
bool run_owner_alive(const struct run *r);
/* Remove runs whose owner died; returns how many. */
int run_reap_dead(void);
/* The run meant by ID (NULL: the only one); err lists runs when ambiguous. */
int run_pick(const char *id, struct run *r, char *err, size_t errlen);
/* Start time (clock ticks since boot) of a process, 0 if gone. */
unsigned long long run_proc_start(pid_t pid);

#endif
