/* Conntrack over ctnetlink (libmnl): forget NAT state in a namespace, as a
 * rebooted NAT or an idle timeout would. */
#ifndef PL_NL_CONNTRACK_H
#define PL_NL_CONNTRACK_H

/* Delete every conntrack entry in NETNS (IPv4 and IPv6). */
int conntrack_flush(const char *netns);
/* Delete the entries (IPv4 and IPv6) of one protocol (IPPROTO_UDP...) in NETNS;
 * *deleted counts them. */
int conntrack_flush_proto(const char *netns, int proto, int *deleted);

#endif
