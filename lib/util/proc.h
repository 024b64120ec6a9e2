/* Child processes: started inside a namespace, waited for, stopped. */
#ifndef PL_PROC_H
#define PL_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

/* fork; the child enters namespace NETNS (NULL: stay), points stdout/stderr
 * at out_fd/err_fd (-1: inherit) and execs argv (PATH searched). */
int proc_spawn(const char *netns, char *const argv[], int out_fd, int err_fd, pid_t *pid);
/* As proc_spawn, with env ("NAME=VALUE" strings, NULL-terminated, kept
 * alive by the caller until it returns; NULL: none) added to the child's
 * environment. */
int proc_spawn_env(const char *netns, char *const argv[], char *const env[], int out_fd, int err_fd, pid_t *pid);
/* fork; the child enters NETNS, runs fn(arg) and exits with its result
 * (0 -> 0, negative errno -> 1). */
int proc_fork_call(const char *netns, int (*fn)(void *), void *arg, pid_t *pid);
/* As proc_fork_call, for a service: fn gets a ready_fd to write one byte to
 * (and close) once it serves; this returns when it has, or -ETIMEDOUT after
 * timeout_ms (the child is left for the caller to stop). */
int proc_fork_ready(const char *netns, int (*fn)(void *arg, int ready_fd), void *arg, pid_t *pid, int timeout_ms);
/* Wait for pid; *code gets the exit code, or 128+signal. */
int proc_wait(pid_t pid, int *code);
/* Wait at most timeout_ms; -ETIMEDOUT if still running. */
int proc_wait_timeout(pid_t pid, int timeout_ms, int *code);
/* SIGTERM, up to grace_ms to exit, then SIGKILL; reaps it when it is our child. */
void proc_stop(pid_t pid, int grace_ms);
/* Is a process with this pid alive (and not a zombie)? */
int proc_alive(pid_t pid);
/* Spawn argv in NETNS, wait, return its exit code (or negative errno). */
int proc_run(const char *netns, char *const argv[], int out_fd, int err_fd);

/* As proc_run, with its standard output (and its standard error too with
 * with_stderr; else inherited) read into buf (cut at len - 1,
 * NUL-terminated). No shell: argv is the program and its arguments. */
int proc_capture(const char *netns, char *const argv[], bool with_stderr, char *buf, size_t len);

/* As proc_capture, with env added (as proc_spawn_env), its standard error
 * to err_fd (-1: inherited; PROC_ERR_TO_OUT: read with the output;
 * PROC_ERR_TO_NULL: dropped), and for at most timeout_ms: a program still
 * running then is killed (SIGKILL) and -ETIMEDOUT returned. Once it has
 * exited, what it wrote is read and no more: a process it left behind
 * holding its output is not waited for. Returns its exit code (128+signal),
 * or a negative errno. */
#define PROC_ERR_TO_OUT (-2)
#define PROC_ERR_TO_NULL (-3)
int proc_capture_for(const char *netns, char *const argv[], char *const env[], int err_fd, char *buf, size_t len,
		     int timeout_ms);

/* Raise this process's soft limit on open files to its hard limit (a
 * daemon with many sockets). */
void proc_raise_fd_limit(void);

/* Run work(i, out, ctx) for i in 0..n-1, up to jobs at a time, each in a
 * child process; each child's result (size bytes, written to out) lands in
 * results[i]. A child that dies leaves results[i] zeroed and failed[i]
 * true. done(i, ctx) (may be NULL) is called as each one finishes. */
void proc_pool(int n, int jobs, size_t size, void *results, bool *failed, void (*work)(int i, void *out, void *ctx),
	       void (*done)(int i, void *ctx), void *ctx);

#endif
