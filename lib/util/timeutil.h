/* Monotonic time in milliseconds, wall-clock time, and sleeping. */
#ifndef PL_TIMEUTIL_H
#define PL_TIMEUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC: in milliseconds, nanoseconds, and seconds. */
uint64_t time_now_ms(void);
uint64_t time_now_ns(void);
double time_now_s(void);
/* CLOCK_REALTIME in nanoseconds since the epoch (it may step). */
uint64_t time_real_ns(void);
void time_sleep_ms(unsigned ms);

#endif
