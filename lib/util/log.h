/* Messages for people: errors, warnings and progress, all on stderr. */
#ifndef PL_LOG_H
#define PL_LOG_H

#include <stdbool.h>

/* Say what failed, on what, and what to do; prefixed "punchlab: ". */
void pl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress shown only with -v / PUNCHLAB_VERBOSE=1. */
void pl_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pl_log_verbose(bool on);
bool pl_log_is_verbose(void);

#endif
