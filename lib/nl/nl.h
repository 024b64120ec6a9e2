/* One netlink socket helper for every conversation we have with the
 * kernel (rtnetlink, nftables, conntrack): open a socket in the current
 * namespace, send a request and read its ack or its dump, send a batch and
 * read the ack of every message in it that asked for one. Every loop over
 * netlink replies is here, in libmnl's way (mnl_cb_run). */
#ifndef PL_NL_H
#define PL_NL_H

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

struct nl_sock {
	struct mnl_socket *mnl;
	unsigned portid;
};

/* A socket on netlink bus (NETLINK_ROUTE, NETLINK_NETFILTER), bound. */
int nl_open(struct nl_sock *s, int bus);
void nl_close(struct nl_sock *s);
/* Send nlh (the caller sets NLM_F_ACK or NLM_F_DUMP) and read until its
 * ack or the end of its dump; cb (NULL: none) sees each data message.
 * 0, or the kernel's (or cb's) negative errno. */
int nl_talk(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* Open a socket, talk once, close it. */
int nl_talk_once(int bus, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* A batch in buf (size bytes). Its limit is half the buffer: libmnl writes
 * a message before it checks the limit ("if you break this rule, expect
 * memory corruptions", its examples say). */
struct mnl_nlmsg_batch *nl_batch_start(void *buf, size_t size);
/* Send batch b and wait for the ack of every message in it that asked for
 * one (counted from the batch itself). 0, or the first refusal's negative
 * errno with *refused set to that message's type (may be NULL). */
int nl_batch_talk(struct nl_sock *s, struct mnl_nlmsg_batch *b, uint16_t *refused);

#endif
