#include "capture.h"
#include "../../lib/util/netns.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN 256   /* headers and the start of each payload */

struct capture {
	pcap_t *p;
	pcap_dumper_t *d;
};

struct open_arg {
	struct capture *c;
	char errbuf[PCAP_ERRBUF_SIZE];
};

/* The capture socket binds to the namespace it is opened in, and stays. */
static int open_in_ns(void *arg)
{
	struct open_arg *o = arg;

	o->c->p = pcap_open_live("any", SNAPLEN, 0, 10, o->errbuf);
	return o->c->p ? 0 : -EIO;
}

struct capture *capture_start(const char *netns, const char *path, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));
	struct open_arg o = { c, "" };

	if (!c)
		return NULL;
	if (netns_call(netns, open_in_ns, &o)) {
		snprintf(err, errlen, "cannot capture in %s: %s", netns, o.errbuf);
		free(c);
		return NULL;
	}
	pcap_setnonblock(c->p, 1, o.errbuf);
	if (!(c->d = pcap_dump_open(c->p, path))) {
		snprintf(err, errlen, "cannot write %s: %s", path, pcap_geterr(c->p));
		pcap_close(c->p);
		free(c);
		return NULL;
	}
	return c;
}

void capture_poll(struct capture *c)
{
	if (c)
		pcap_dispatch(c->p, -1, pcap_dump, (u_char *)c->d);
}

void capture_stop(struct capture *c)
{
	if (!c)
		return;
	capture_poll(c);
	pcap_dump_close(c->d);
	pcap_close(c->p);
	free(c);
}
