/* Packets an nftables rule hands to a netlink log group (the `log group`
 * expression, nftcount.h's log_group), one message per packet as it
 * passes: a socket in a router's namespace bound to the group, read
 * without blocking, each packet passed on by the rule's prefix. The runner
 * sees its probes' tunnel packets cross the direct and relay counters
 * with it, one by one (meter.h). */
#ifndef PL_NL_NFLOG_H
#define PL_NL_NFLOG_H

#include <stddef.h>
#include <stdint.h>

struct nflog;

/* Called once per packet logged, with the rule's prefix ("" if none). */
typedef void (*nflog_cb)(const char *prefix, void *arg);

/* Bind group (1..65535) in NETNS, packets' metadata only, each sent at
 * once; NULL with err on failure (another listener has the group, no
 * nfnetlink_log in the kernel). */
struct nflog *nflog_open(const char *netns, uint16_t group, char *err, size_t errlen);
void nflog_close(struct nflog *l);
/* Every message waiting, without blocking: cb for each packet. Returns
 * the packets read, or -ENOBUFS when the kernel dropped some for want of
 * room (those read are still passed on). */
int nflog_drain(struct nflog *l, nflog_cb cb, void *arg);
/* One datagram the socket read: each log message in it (NFULNL_MSG_PACKET)
 * passes its prefix to cb; messages of other types are passed over.
 * Returns the packets found, or -EBADMSG at the first damaged message or
 * attribute (one that does not fit, a prefix without its end; those
 * before it are passed on). */
int nflog_parse(const void *buf, size_t len, nflog_cb cb, void *arg);

#endif
