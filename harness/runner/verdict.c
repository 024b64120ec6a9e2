#include "verdict.h"

#include <string.h>

static const char *const names[] = {
	[PATH_UNKNOWN] = "unknown",
	[PATH_NONE] = "none",
	[PATH_DIRECT] = "direct",
	[PATH_RELAY] = "relay",
};

const char *path_name(enum path p)
{
	return p <= PATH_RELAY ? names[p] : "unknown";
}

enum path path_parse(const char *s)
{
	for (int p = PATH_NONE; p <= PATH_RELAY; p++)
		if (!strcmp(s, names[p]))
			return (enum path)p;
	return PATH_UNKNOWN;
}

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->path = PATH_NONE;
	v->time_to_direct_s = -1;
}

enum path verdict_window(struct verdict *v, bool answered, uint64_t direct_bytes, uint64_t relay_bytes, double at_s)
{
	/* Where most of the window's tunnel bytes went, if the tunnel worked
	 * and carried at least a probe's worth; else the window says nothing
	 * and the path stays what it was. */
	if (answered && direct_bytes > relay_bytes && direct_bytes >= VERDICT_MIN_BYTES) {
		if (v->time_to_direct_s < 0)
			v->time_to_direct_s = at_s;
		v->direct_windows++;
		v->relay_windows = 0;
		v->path = PATH_DIRECT;
		return PATH_DIRECT;
	}
	if (answered && relay_bytes >= VERDICT_MIN_BYTES) {
		v->relay_windows++;
		v->direct_windows = 0;
		v->path = PATH_RELAY;
		return PATH_RELAY;
	}
	return PATH_NONE;
}

bool verdict_steady(const struct verdict *v, enum path p)
{
	return p == PATH_DIRECT ? v->direct_windows >= VERDICT_STEADY_WINDOWS
	       : p == PATH_RELAY ? v->relay_windows >= VERDICT_STEADY_WINDOWS
				 : false;
}

enum path verdict_traffic(uint64_t direct, uint64_t relay, uint64_t payload)
{
	if (payload && direct * 4 >= payload * 3 && relay * 4 < payload)
		return PATH_DIRECT;
	if (payload && relay * 2 >= payload * 3 && direct * 10 < payload)
		return PATH_RELAY;
	return PATH_NONE;
}
