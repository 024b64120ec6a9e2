/* Named network namespaces, made and removed the way iproute2 does
 * (a bind mount under /run/netns), so `ip netns exec` works on ours too. */
#ifndef PL_NETNS_H
#define PL_NETNS_H

#define NETNS_DIR "/run/netns"

/* Create /run/netns/NAME holding a fresh network namespace. -EEXIST if taken. */
int netns_create(const char *name);
/* Unmount and remove /run/netns/NAME; the kernel frees the namespace once
 * nothing else holds it. -ENOENT if absent. */
int netns_delete(const char *name);
/* Open the namespace file; the caller closes the fd. */
int netns_open(const char *name);
/* Move the calling thread into namespace NAME (for fork()ed children). */
int netns_enter(const char *name);
/* Run fn(arg) with the calling thread inside NAME (NULL: where it is), then come back. */
int netns_call(const char *name, int (*fn)(void *), void *arg);
/* Live processes (other than the caller) inside any of the n namespaces
 * NAMES; up to max pids, returns the count. */
int netns_pids(const char *const names[], int n, int *pids, int max);
/* Write VALUE to /proc/sys/PATH inside namespace NAME (net.* sysctls are per namespace). */
int netns_sysctl(const char *name, const char *path, const char *value);

#endif
