#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int verbose = -1;

void pl_log_verbose(bool on) { verbose = on; }

bool pl_log_is_verbose(void)
{
	if (verbose < 0) {
		const char *v = getenv("PUNCHLAB_VERBOSE");
		verbose = v && *v && *v != '0';
	}
	return verbose;
}

void pl_err(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "punchlab: %s\n", buf);
}

void pl_info(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	if (!pl_log_is_verbose())
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "punchlab: %s\n", buf);
}
