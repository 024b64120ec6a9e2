#include "impair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_time_us(const char *v, unsigned *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || x < 0 || x > 1e7)
		return false;
	if (!strcmp(end, "ms"))
		x *= 1000;
	else if (!strcmp(end, "s"))
		x *= 1e6;
	else if (strcmp(end, "us"))
		return false;
	*out = (unsigned)(x + 0.5);
	return true;
}

static bool parse_percent(const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || strcmp(end, "%") || x < 0 || x > 100)
		return false;
	*out = x / 100.0;
	return true;
}

static bool parse_rate(const char *v, uint64_t *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || x <= 0)
		return false;
	if (!strcmp(end, "kbit"))
		x *= 1e3;
	else if (!strcmp(end, "mbit"))
		x *= 1e6;
	else if (!strcmp(end, "gbit"))
		x *= 1e9;
	else if (strcmp(end, "bit"))
		return false;
	if (x > 1e11)
		return false;
	*out = (uint64_t)x;
	return true;
}

int impair_parse(const char *spec, struct impair *im, char *err, size_t errlen)
{
	char buf[256], *save = NULL;

	memset(im, 0, sizeof(*im));
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "impairment \"%.40s...\" is too long", spec);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *item = strtok_r(buf, ", \t", &save); item; item = strtok_r(NULL, ", \t", &save)) {
		char *eq = strchr(item, '=');
		const char *v;
		bool ok;
		unsigned long mtu;

		if (!eq) {
			snprintf(err, errlen, "\"%s\" is not key=value", item);
			return -EINVAL;
		}
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(item, "delay"))
			ok = parse_time_us(v, &im->delay_us);
		else if (!strcmp(item, "jitter"))
			ok = parse_time_us(v, &im->jitter_us);
		else if (!strcmp(item, "loss"))
			ok = parse_percent(v, &im->loss);
		else if (!strcmp(item, "reorder"))
			ok = parse_percent(v, &im->reorder);
		else if (!strcmp(item, "duplicate"))
			ok = parse_percent(v, &im->duplicate);
		else if (!strcmp(item, "rate"))
			ok = parse_rate(v, &im->rate_bps);
		else if (!strcmp(item, "mtu")) {
			char *end;
			mtu = strtoul(v, &end, 10);
			ok = !*end && mtu >= 576 && mtu <= 65535;
			im->mtu = (unsigned)mtu;
		} else {
			snprintf(err, errlen, "unknown impairment \"%s\"; expected delay, jitter, loss, reorder, duplicate, rate or mtu",
				 item);
			return -EINVAL;
		}
		if (!ok) {
			snprintf(err, errlen, "bad %s \"%s\" (e.g. delay=40ms jitter=5ms loss=2%% rate=10mbit mtu=1400)", item, v);
			return -EINVAL;
		}
	}
	if (im->jitter_us > im->delay_us) {
		snprintf(err, errlen, "jitter (%u us) larger than delay (%u us)", im->jitter_us, im->delay_us);
		return -EINVAL;
	}
	im->on = true;
	return 0;
}
