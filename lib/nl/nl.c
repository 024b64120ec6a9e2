#include "nl.h"

#include <errno.h>
#include <string.h>

int nl_open(struct nl_sock *s, int bus)
{
	memset(s, 0, sizeof(*s));
	if (!(s->mnl = mnl_socket_open(bus)))
		return -errno;
	if (mnl_socket_bind(s->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;
		nl_close(s);
		return ret;
	}
	s->portid = mnl_socket_get_portid(s->mnl);
	return 0;
}

void nl_close(struct nl_sock *s)
{
	if (s->mnl)
		mnl_socket_close(s->mnl);
	s->mnl = NULL;
}

int nl_talk(struct nl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	if (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* MNL_CB_OK: more to come; STOP: the ack (or the dump's end); ERROR:
	 * the kernel's refusal (or cb's), in errno. */
	do {
		ssize_t n = mnl_socket_recvfrom(s->mnl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, s->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? (errno ? -errno : -EIO) : 0;
}

int nl_talk_once(int bus, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct nl_sock s;
	int ret = nl_open(&s, bus);

	if (ret)
		return ret;
	ret = nl_talk(&s, nlh, cb, data);
	nl_close(&s);
	return ret;
}

struct mnl_nlmsg_batch *nl_batch_start(void *buf, size_t size)
{
	return mnl_nlmsg_batch_start(buf, size / 2);
}

int nl_batch_talk(struct nl_sock *s, struct mnl_nlmsg_batch *b, uint16_t *refused)
{
	const struct nlmsghdr *m = mnl_nlmsg_batch_head(b);
	int len = (int)mnl_nlmsg_batch_size(b), expected = 0;
	char buf[MNL_SOCKET_BUFFER_SIZE];

	/* The acks to wait for: one per message that asked (not the batch's
	 * begin and end markers). */
	for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len))
		expected += (m->nlmsg_flags & NLM_F_ACK) != 0;
	if (mnl_socket_sendto(s->mnl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0)
		return -errno;
	while (expected > 0) {
		ssize_t got = mnl_socket_recvfrom(s->mnl, buf, sizeof(buf));
		int n = (int)got;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		for (const struct nlmsghdr *r = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(r, n); r = mnl_nlmsg_next(r, &n)) {
			const struct nlmsgerr *e;
			if (r->nlmsg_type != NLMSG_ERROR || r->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(r);
			if (e->error) {
				if (refused)
					*refused = e->msg.nlmsg_type;
				return e->error;
			}
			expected--;
		}
	}
	return 0;
}
