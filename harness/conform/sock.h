/* Sockets made inside a lab namespace and used from here: one process
 * holds both ends of every conformance test (a socket stays in the
 * namespace it was made in). Internal to harness/conform. */
#ifndef PL_CONFORM_SOCK_H
#define PL_CONFORM_SOCK_H

#include "observe.h"

#include <stddef.h>
#include <stdint.h>

/* A socket of TYPE/PROTO made in namespace NS (NULL: here); -errno. */
int csock_new(const char *ns, int type, int proto);
/* A UDP (or TCP with SO_REUSEADDR) socket in NS bound to addr:port
 * (addr network order, port host order; 0 for any). */
int csock_udp(const char *ns, uint32_t addr, uint16_t port);
int csock_tcp(const char *ns, uint32_t addr, uint16_t port);
int csock_send(int fd, uint32_t addr, uint16_t port, const void *buf, size_t len);
/* Wait up to ms for a datagram starting with TAG; its source in from (may
 * be NULL), its bytes in buf (cap); returns the length or -1. */
int csock_recv_tag(int fd, const char *tag, int ms, struct obs_ep *from, uint8_t *buf, size_t cap);
/* Non-blocking connect to addr:port; 0 started, -errno. */
int csock_connect_start(int fd, uint32_t addr, uint16_t port);
/* Wait up to ms for the connect to finish: 0 connected, -errno (the
 * socket's error, -ETIMEDOUT). */
int csock_connect_wait(int fd, int ms);
/* Accept on listener fd within ms; the peer in from; the new fd or -1. */
int csock_accept(int fd, int ms, struct obs_ep *from);

#endif
