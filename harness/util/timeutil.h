/* Monotonic time in milliseconds, and sleeping. */
#ifndef PL_TIMEUTIL_H
#define PL_TIMEUTIL_H

#include <stdint.h>

uint64_t time_now_ms(void);
void time_sleep_ms(unsigned ms);

#endif
