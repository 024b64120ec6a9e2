#!/usr/bin/env python3
"""Seeds for the fuzz targets whose inputs are binary and made here (the
others hold copies of shipped files or captured messages). Run from the
top directory: python3 tests/fuzz/seeds/make_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), 'wb') as f:
        f.write(bytes(data))


def ipv4(proto, payload, src=(10, 0, 1, 2), dst=(203, 0, 113, 2), df=False):
    total = 20 + len(payload)
    hdr = struct.pack('!BBHHHBBH4B4B', 0x45, 0, total, 0x1234, 0x4000 if df else 0, 64, proto, 0, *src, *dst)
    s = sum(struct.unpack('!10H', hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    hdr = hdr[:10] + struct.pack('!H', ~s & 0xffff) + hdr[12:]
    return hdr + bytes(payload)


def udp(sport, dport, body):
    return struct.pack('!HHHH', sport, dport, 8 + len(body), 0) + bytes(body)


def tcp(sport, dport, flags, body=b''):
    return struct.pack('!HHIIBBHHH', sport, dport, 0xffffff00, 0, 5 << 4, flags, 0xffff, 0, 0) + bytes(body)


def vnet(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    # struct virtio_net_hdr (10 bytes: the TUN device is opened without mergeable buffers)
    return struct.pack('<BBHHHH', flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


# toynat: the first byte says the direction (bit 0: from outside) and the
# time (the rest, in seconds); then one IPv4 packet.
inside = (10, 0, 1, 2)
write('fuzz_toynat', 'udp-out', [0] + list(ipv4(17, udp(4000, 3478, b'PLC hello'), src=inside)))
write('fuzz_toynat', 'udp-in', [1] + list(ipv4(17, udp(3478, 1024, b'PLC back'), src=(203, 0, 113, 2), dst=(203, 203, 113, 2))))
write('fuzz_toynat', 'tcp-syn-out', [2] + list(ipv4(6, tcp(4000, 80, 0x02), src=inside)))
write('fuzz_toynat', 'icmp-echo-out', [4] + list(ipv4(1, b'\x08\x00\x00\x00\x50\x4d\x00\x01payload', src=inside)))
write('fuzz_toynat', 'icmp-error-in', [7] + list(ipv4(1, b'\x03\x03\x00\x00\x00\x00\x00\x00' +
                                                       ipv4(17, udp(1024, 3478, b'x'), src=(203, 203, 113, 2), dst=(203, 0, 113, 2)),
                                                       src=(203, 0, 113, 2), dst=(203, 203, 113, 2))))
write('fuzz_toynat', 'fragment-out', [0] + list(ipv4(17, udp(4000, 3478, b'A' * 64), src=inside)[:20]) + [0x20] + [0] * 30)

# wg_offload: what a TUN read with IFF_VNET_HDR holds (the header, then a packet).
payload = bytes((i * 7) & 0xff for i in range(3000))
write('fuzz_wg_offload', 'tso-tcp4', vnet(1, 1, 40, 1380, 20, 16) + ipv4(6, tcp(8080, 7000, 0x18, payload), src=(10, 9, 0, 1), dst=(10, 9, 0, 2)))
write('fuzz_wg_offload', 'partial-csum', vnet(1, 0, 0, 0, 20, 16) + ipv4(6, tcp(8080, 7000, 0x10, payload[:500]), src=(10, 9, 0, 1), dst=(10, 9, 0, 2)))
write('fuzz_wg_offload', 'udp-gso', vnet(1, 5, 28, 1200, 20, 6) + ipv4(17, udp(5000, 6000, payload), src=(10, 9, 0, 1), dst=(10, 9, 0, 2)))
write('fuzz_wg_offload', 'plain', vnet(0, 0, 0, 0, 0, 0) + ipv4(17, udp(5000, 6000, b'ping'), src=(10, 9, 0, 1), dst=(10, 9, 0, 2)))

# wg_gro: records of a flags byte (1: set the IPv4 header checksum, 2: set
# the TCP checksum, 4: the batch ends), a 16-bit length and a packet.
def tcp_seq(sport, seq, flags, body):
    return struct.pack('!HHIIBBHHH', sport, 7000, seq, 1, 5 << 4, flags, 0xffff, 0, 0) + bytes(body)


def ipv4_id(proto, payload, ident):
    total = 20 + len(payload)
    return struct.pack('!BBHHHBBH4B4B', 0x45, 0, total, ident, 0x4000, 64, proto, 0, 10, 9, 0, 1, 10, 9, 0, 2) + bytes(payload)


def ipv6_tcp(payload):
    return struct.pack('!IHBB', 0x60000000, len(payload), 6, 64) + bytes([0xfd] + [0] * 14 + [1]) + bytes([0xfd] + [0] * 14 + [2]) + bytes(payload)


def gro_rec(flags, pkt):
    return bytes([flags]) + struct.pack('!H', len(pkt)) + pkt


seg = payload[:1000]
write('fuzz_wg_gro', 'one-flow', b''.join(gro_rec(3, ipv4_id(6, tcp_seq(8080, 100 + i * 1000, 0x10, seg), 7 + i)) for i in range(6)))
write('fuzz_wg_gro', 'two-flows', b''.join(gro_rec(3, ipv4_id(6, tcp_seq(8080 + i % 2, 100 + (i // 2) * 1000, 0x10, seg), 7 + i // 2)) for i in range(8)))
write('fuzz_wg_gro', 'gap-psh-batch', b''.join(gro_rec(3 | (4 if i == 2 else 0), ipv4_id(6, tcp_seq(8080, 100 + i * 1000, 0x18 if i == 4 else 0x10, seg), 7 + i)) for i in (0, 1, 2, 4, 5)))
write('fuzz_wg_gro', 'ipv6', b''.join(gro_rec(2, ipv6_tcp(tcp_seq(8080, 100 + i * 1000, 0x10, seg))) for i in range(4)))
frag = bytearray(ipv4_id(6, tcp_seq(8080, 2100, 0x10, seg), 9))
frag[6] |= 0x20
write('fuzz_wg_gro', 'fragment-after', b''.join(gro_rec(3, ipv4_id(6, tcp_seq(8080, 100 + i * 1000, 0x10, seg), 7 + i)) for i in range(2)) + gro_rec(3, bytes(frag)))
write('fuzz_wg_gro', 'udp-between', gro_rec(3, ipv4_id(6, tcp_seq(8080, 100, 0x10, seg), 7)) + gro_rec(1, ipv4(17, udp(5000, 6000, b'x'))) + gro_rec(3, ipv4_id(6, tcp_seq(8080, 1100, 0x10, seg), 8)))

# wg_receive: event sequences (see tests/fuzz/fuzz_wg_receive.c for the ops).
data = [0, 40, 2] + [0x55] * 40           # other sends 40 bytes from its own address
deliver = lambda k, how=0, at=0, flip=0: [1, k, how, at, flip]
write('fuzz_wg_receive', 'data-then-replay', data + deliver(0) + deliver(0))
write('fuzz_wg_receive', 'reordered', data + data + data + deliver(2) + deliver(0) + deliver(1) + deliver(1))
write('fuzz_wg_receive', 'roam', data + deliver(0, 1) + data + deliver(1) + [4, 2])
write('fuzz_wg_receive', 'relayed', data + deliver(0, 2) + [4, 2])
write('fuzz_wg_receive', 'not-allowed', [0, 40, 9] + [0x11] * 40 + deliver(0))
write('fuzz_wg_receive', 'flipped', data + deliver(0, 0, 30, 0x40) + deliver(0))
write('fuzz_wg_receive', 'rekey', data + deliver(0) + [3, 130] + [5] + deliver(1) + deliver(2) + data + deliver(3) + [4, 2])
write('fuzz_wg_receive', 'expired', [3, 200] + data + deliver(0) + [4, 2] + deliver(1))
write('fuzz_wg_receive', 'raw', [2, 32] + [4, 0, 0, 0] + [0] * 28)

# stun_server: records of [flags][len][datagram] (see tests/fuzz/fuzz_stun_server.c).
def stun_request(attrs=b'', txid=b'B' * 12):
    import zlib
    hdr = struct.pack('!HHI', 1, len(attrs) + 8, 0x2112A442) + txid
    crc = (zlib.crc32(hdr + attrs) ^ 0x5354554e) & 0xffffffff
    return hdr + attrs + struct.pack('!HHI', 0x8028, 4, crc)


stun_rec = lambda flags, m: bytes([flags]) + struct.pack('!H', len(m)) + m
bare = struct.pack('!HHI', 1, 0, 0x2112A442) + b'A' * 12
padded = stun_request(struct.pack('!HH', 0x26, 80) + bytes(80))
change = stun_request(struct.pack('!HHI', 3, 4, 6))
rport = stun_request(struct.pack('!HHHH', 0x27, 4, 40001, 0))
write('fuzz_stun_server', 'bare-then-padded.bin',
      stun_rec(0, bare) + stun_rec(0x21, padded) + stun_rec(0x0a, change) + stun_rec(0x13, rport))
write('fuzz_stun_server', 'ipv6-sources.bin',   # sources 4-7 are IPv6
      stun_rec(0x04, padded) + stun_rec(0x0d, change) + stun_rec(0x16, rport) + stun_rec(0x07, bare))
write('fuzz_stun_server', 'flood-one-source.bin', b''.join(stun_rec(0, bare) for _ in range(250)) + stun_rec(0xe0, bare))


# capture: the first byte picks the link type (0: Linux cooked, 1: cooked
# v2, 2: Ethernet, 3: raw IP), then a packet as the capture holds it.
def sll(ip):
    return struct.pack('!HHH8sH', 0, 1, 6, b'\0' * 8, 0x0800) + ip


def sll2(ip):
    return struct.pack('!HHIHBB8s', 0x0800, 0, 2, 1, 0, 6, b'\0' * 8) + ip


init = bytes([1, 0, 0, 0]) + bytes(range(4, 148))
resp = bytes([2, 0, 0, 0]) + bytes(range(4, 92))
write('fuzz_capture', 'sll-initiation', bytes([0]) + sll(ipv4(17, udp(51820, 51820, init))))
write('fuzz_capture', 'sll2-response', bytes([1]) + sll2(ipv4(17, udp(51820, 51820, resp))))
write('fuzz_capture', 'ether-response', bytes([2]) + b'\0' * 12 + b'\x08\x00' + ipv4(17, udp(1, 2, resp)))
write('fuzz_capture', 'raw-fragment', bytes([3]) + ipv4(17, udp(1, 2, resp))[:6] + b'\x20\x01' + ipv4(17, udp(1, 2, resp))[8:])


# frag: records of sender|full, id, index, count, step, length (2), bytes.
def frag_rec(sender, full, fid, idx, count, step, body=b''):
    return bytes([sender | (4 if full else 0), fid, idx, count, step]) + struct.pack('!H', len(body)) + body


write('fuzz_mesh_frag', 'two-pieces', frag_rec(0, True, 1, 0, 2, 0) + frag_rec(0, False, 1, 1, 2, 1, b'\x04' + b'x' * 40))
write('fuzz_mesh_frag', 'out-of-order-two-senders',
      frag_rec(1, False, 7, 2, 3, 0, b'z' * 20) + frag_rec(2, True, 7, 0, 3, 0) + frag_rec(1, True, 7, 0, 3, 5) +
      frag_rec(1, True, 7, 1, 3, 5) + frag_rec(2, True, 7, 1, 3, 200))
write('fuzz_mesh_frag', 'raw', bytes([0xff, 0, 0, 0, 0, 0, 0]) + b'PL\x06\x12\x00\x00\x00\x01\x00\x02' + b'y' * 30)


# mesh_receive: records of where|raw, who, from, type, body length, 10 ms
# steps, then the body (counter and session first, 16 bytes, then the
# type's fields).
def recv_rec(where, who, frm, mtype, body, step=1, raw=False):
    return bytes([where | (4 if raw else 0), who, frm, mtype, len(body), step]) + body


ctr = b'\0' * 16
reg6 = ctr + bytes([0, 1]) + b'b' + bytes([64, 0]) + b'\0' * 28   # no join, proof or mapping; name b; no candidates
ping_body = ctr + struct.pack('!Q', 1) + bytes([4, 192, 0, 2, 10]) + struct.pack('!H', 4000) + b'\0\0'
write('fuzz_mesh_receive', 'connect-ping-resync-gone',
      recv_rec(0, 0, 0, 4, ctr + struct.pack('!I', 2)) +       # CONNECT from a to the introducer
      recv_rec(2, 1, 1, 6, ping_body) +                           # PING from b to a
      recv_rec(2, 1, 1, 9, ctr + struct.pack('!Q', 5)) +          # RESYNC from b to a
      recv_rec(2, 2, 2, 11, ctr + struct.pack('!I', 2) + b'k' * 32, 50) +  # GONE from the introducer
      recv_rec(1, 3, 3, 4, ctr + struct.pack('!I', 1)) +          # CONNECT from a stranger
      recv_rec(2, 0, 3, 6, b'PL\x06\x06' + b'x' * 150, raw=True) +  # garbage to a
      recv_rec(8, 1, 1, 1, reg6, raw=False) +                       # b's REGISTER on the introducer's IPv6 address
      recv_rec(10, 1, 1, 6, ping_body))                             # a PING to a from b's IPv6 place

# cookies: a stranger's REGISTER in COOKIED (a cookie the introducer never
# made), then a COOKIE to a under the introducer's key (flag 16)
write('fuzz_mesh_receive', 'cookied-and-cookie',
      recv_rec(16, 3, 3, 1, reg6) +
      recv_rec(16, 1, 3, 1, reg6) +
      recv_rec(18, 2, 2, 1, b'c' * 16, 5))
# mesh_msg: a COOKIE (header, nonce, sealed cookie) and a COOKIED around a
# REGISTER-shaped message
write('fuzz_mesh_msg', 'cookie', b'PL\x06\x14' + b'n' * 24 + b'c' * 32)
write('fuzz_mesh_msg', 'cookied', b'PL\x06\x15' + b'PL\x06\x01' + b'r' * 160 + b'm' * 16)

# peers on demand: a's REGISTER asks for them (flag 8), then a LOOKUP (type
# 12) for b's mesh address and one for an address no one has
reg_od = ctr + bytes([8, 1]) + b'a' + bytes([64, 0]) + b'\0' * 28
write('fuzz_mesh_receive', 'on-demand-lookup',
      recv_rec(0, 0, 0, 1, reg_od) +
      recv_rec(0, 0, 0, 12, ctr + bytes([4, 100, 100, 0, 2]) + b'\0' * 12, 5) +
      recv_rec(0, 0, 0, 12, ctr + bytes([6]) + b'\xfd' + b'\0' * 15, 5))


# mesh_msg: the type byte, then a body (counter and session, 16 bytes, then
# the type's fields). A REGISTER and a PEER that carry a port mapping
# (endpoint, then its protocol: 4 PCP, 2 NAT-PMP, 1 UPnP).
def ep4(addr, port):
    return bytes([4, *addr]) + struct.pack('!H', port)


mapped = ep4((192, 0, 2, 2), 51820) + bytes([4])
reg = ctr + bytes([4]) + mapped + bytes([1]) + b'a' + bytes([64, 1]) + ep4((10, 0, 1, 2), 51820)
write('fuzz_mesh_msg', 'register-mapped', bytes([1]) + reg + b'\0' * max(0, 48 - len(reg) + 16))
write('fuzz_mesh_msg', 'peer-mapped',
      bytes([3]) + ctr + struct.pack('!I', 7) + b'k' * 32 + bytes([1]) + b'b' + bytes([100, 64, 0, 3]) + b'\0' * 16 +
      ep4((192, 0, 2, 2), 40000) + ep4((192, 0, 2, 2), 40001) + bytes([1]) + ep4((10, 0, 1, 2), 51820) + bytes([2]) +
      mapped)
# a PEER with its IPv6 endpoint (flags 4)
write('fuzz_mesh_msg', 'peer-ipv6',
      bytes([3]) + ctr + struct.pack('!I', 7) + b'k' * 32 + bytes([1]) + b'b' + bytes([100, 64, 0, 3]) + b'\0' * 16 +
      ep4((192, 0, 2, 2), 40000) + ep4((192, 0, 2, 2), 40001) + bytes([0]) + bytes([4]) +
      bytes([6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 4] + [0] * 7 + [2]) + struct.pack('!H', 40000))
write('fuzz_mesh_msg', 'lookup', bytes([12]) + ctr + bytes([4, 100, 100, 0, 2]) + b'\0' * 12)
write('fuzz_mesh_msg', 'register-on-demand', bytes([1]) + ctr + bytes([8, 1]) + b'a' + bytes([64, 0]) + b'\0' * 28)

# nflog: datagrams a netlink log socket reads (nlmsghdr, nfgenmsg, attributes).
def nlattr(kind, body):
    body = bytes(body)
    pad = (-len(body)) % 4
    return struct.pack('<HH', 4 + len(body), kind) + body + b'\0' * pad


def nflog_msg(kind, attrs):
    body = struct.pack('<BBH', 2, 0, 0) + b''.join(attrs)
    return struct.pack('<IHHII', 16 + len(body), (4 << 8) | kind, 0, 0, 0) + body


write('fuzz_nflog', 'direct', nflog_msg(0, [nlattr(1, struct.pack('>HBB', 0x0800, 3, 0)), nlattr(10, b'direct-a-b\0')]))
write('fuzz_nflog', 'two', nflog_msg(0, [nlattr(10, b'relay\0')]) + nflog_msg(0, [nlattr(4, struct.pack('>I', 3)), nlattr(10, b'direct-a-b\0')]))
write('fuzz_nflog', 'config', nflog_msg(1, [nlattr(1, b'\x01\0\0\0')]))
write('fuzz_nflog', 'unterminated', nflog_msg(0, [nlattr(10, b'relay')]))
