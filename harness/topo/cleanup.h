/* Teardown that always happens: runs this process owns are removed on
 * SIGINT, SIGTERM and SIGHUP, by a `punchlab topo down` exec'd from the
 * handler (fork and exec are async-signal-safe; the rest is not). */
#ifndef PL_CLEANUP_H
#define PL_CLEANUP_H

/* Remove run ID if this process is killed. */
void cleanup_watch_instance(const char *id);
/* The run is gone or handed over: forget it. */
void cleanup_forget_instance(const char *id);

#endif
