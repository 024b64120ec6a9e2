// One peer: js-libp2p on TCP with the circuit relay transport and DCUtR.
// b reserves a slot on the relay and leaves its relayed address in
// DIR/b.addr; a dials it (relayed first), and DCUtR tries to replace the
// relayed connection with a direct one. Datagrams to 127.0.0.1:LISTEN go
// over a stream (length-prefixed), on the best connection there is; what
// arrives is given to the local program that sent last, or (before any) to
// 127.0.0.1:DELIVER, the harness's echo. DIR/NAME.path says whether a
// direct connection to the peer is open.
//
// Hole punching over TCP needs each peer to dial from the port the other
// one punches to; Node 20 cannot share a listening port (no SO_REUSEPORT),
// so every outbound TCP dial leaves from one fixed port DIALPORT (the TCP
// transport's dialOpts.localPort; libuv sets SO_REUSEADDR, so several
// outbound sockets may share it while nothing listens on it). The relay
// sees that port through the NAT; identify tells us, and we announce it.
// js-libp2p counts 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 (the
// lab's "public" TEST-NET addresses) as private and DCUtR drops private
// addresses, but it keeps DNS ones: so the observed address is announced
// as /dns4/A.B.C.D.ip.punchlab.test/tcp/PORT (announceFilter), a name a
// resolver of our own (connectionManager.resolvers) turns back into
// /ip4/A.B.C.D. No module of js-libp2p is changed.
// usage: node peer.mjs NAME PEER DIR LISTEN DELIVER TCPLISTEN DIALPORT
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { multiaddr } from '@multiformats/multiaddr'
import dgram from 'node:dgram'
import fs from 'node:fs'

const PROTO = '/punchlab/datagram/1.0.0'
const [name, other, dir, listen, deliver, tcpListen = '0', dialPort = '0'] = process.argv.slice(2)
const log = (...m) => console.error(`libp2p ${name}:`, ...m)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const put = (file, text) => {
  fs.writeFileSync(`${dir}/${file}.tmp`, text)
  fs.renameSync(`${dir}/${file}.tmp`, `${dir}/${file}`)
}
const readWhenThere = async (file) => {
  for (;;) {
    try { return fs.readFileSync(`${dir}/${file}`, 'utf8').trim() } catch { await sleep(20) }
  }
}

// Our public TCP endpoint as the relay sees it, in its DNS disguise.
const SUFFIX = '.ip.punchlab.test'
let publicAddr = null
const ipResolver = {
  canResolve: (ma) => {
    const c = ma.getComponents()[0]
    return c != null && c.name === 'dns4' && c.value.endsWith(SUFFIX)
  },
  resolve: async (ma) => {
    const [first, ...rest] = ma.getComponents()
    const ip = first.value.slice(0, -SUFFIX.length)
    return [multiaddr('/ip4/' + ip + rest.map((c) => '/' + c.name + (c.value != null ? '/' + c.value : '')).join(''))]
  }
}

const relayAddr = await readWhenThere('relay.addr')
const relayId = multiaddr(relayAddr).getPeerId()

// DCUtR over TCP ends in a simultaneous open: both sides' connect()
// succeed, and one of them must then play the server (multistream-select
// listener, Noise responder). @libp2p/dcutr asks for that on B (the side
// the relayed connection came in to) with openConnection(..., { initiator:
// false }), but libp2p 2.10's dial queue does not carry `initiator` on to
// the transport, so both sides start as Noise initiators and the handshake
// fails ("handshake stage 1 validation fail: message is not long enough").
// That is js-libp2p's to mend: this tool runs it as npm has it, so the
// punch fails there and the pair stays on the relay (tools/libp2p/README.md).
const tcpTransport = tcp(Number(dialPort) ? { dialOpts: { localPort: Number(dialPort) } } : {})
const node = await createLibp2p({
  addresses: {
    listen: [`/ip4/0.0.0.0/tcp/${tcpListen}`, `${relayAddr}/p2p-circuit`],
    announceFilter: (addrs) => publicAddr ? [...addrs, publicAddr] : addrs
  },
  connectionManager: { resolvers: { dns4: ipResolver } },
  // Such an address is good for a hole punch only (nothing listens on
  // DIALPORT): the peer store keeps it not, so that DCUtR does not first try
  // a one-sided dial to it, which leaves our NAT a conntrack entry that
  // turns the other side's punch into a RST.
  connectionGater: { filterMultiaddrForPeer: async (peer, ma) => !ma.toString().includes(SUFFIX) },
  transports: [tcpTransport, circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), dcutr: dcutr() },
  start: false
})
node.addEventListener('peer:identify', (evt) => {
  const seen = evt.detail.observedAddr
  // only what the relay saw of a direct TCP connection of ours
  if (publicAddr || seen == null || !Number(dialPort) || evt.detail.connection?.limits != null) return
  if (seen.toString().includes('/p2p-circuit')) return
  const o = seen.toOptions()
  if (o.family !== 4 || o.transport !== 'tcp') return
  publicAddr = multiaddr(`/dns4/${o.host}${SUFFIX}/tcp/${o.port}/p2p/${node.peerId}`)
  log('seen from outside as', seen.toString(), '; announcing', publicAddr.toString())
})
await node.start()
const local = dgram.createSocket('udp4')
let app = null
let peer = null
let out = null          // the stream we send on
let opening = null

// Frames: a 2-byte length, then the datagram.
async function readFrames (stream) {
  let pending = Buffer.alloc(0)
  for await (const chunk of stream.source) {
    pending = Buffer.concat([pending, Buffer.from(chunk.subarray())])
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const len = pending.readUInt16BE(0)
      const to = app || { port: Number(deliver), address: '127.0.0.1' }
      local.send(pending.subarray(2, 2 + len), to.port, to.address)
      pending = pending.subarray(2 + len)
    }
  }
}

// A stream to the peer: pushed frames go out in order.
function pushable (stream) {
  const queue = []
  let wake = null
  let closed = false
  stream.sink((async function * () {
    while (!closed) {
      if (queue.length) yield queue.shift()
      else await new Promise((resolve) => { wake = resolve })
    }
  })()).catch(() => {}).finally(() => { closed = true; if (out && out.stream === stream) out = null })
  return {
    stream,
    push (buf) {
      if (closed) return false
      const frame = Buffer.alloc(2 + buf.length)
      frame.writeUInt16BE(buf.length, 0)
      buf.copy(frame, 2)
      queue.push(frame)
      if (wake) { const w = wake; wake = null; w() }
      return true
    }
  }
}

await node.handle(PROTO, ({ stream }) => { readFrames(stream).catch(() => {}) }, { runOnLimitedConnection: true })

// A stream on the best connection to the peer: a direct one once there is
// one, else the relayed (limited) one.
function best () {
  const conns = peer ? node.getConnections(peer) : []
  return conns.find((c) => !c.limits) || conns[0] || null
}

async function openStream () {
  if (opening || !peer) return
  opening = (async () => {
    try {
      const conn = best() || await node.dial(peer)
      const stream = await conn.newStream(PROTO, { runOnLimitedConnection: true })
      out = pushable(stream)
      out.conn = conn
      while (waiting.length) out.push(waiting.shift())
    } catch (err) {
      log('no stream yet:', err.message)
    } finally {
      opening = null
    }
  })()
}

// Datagrams that come while there is no stream (the first, or while the
// stream moves to the direct connection) wait for it, a few of them.
const waiting = []
local.on('message', (buf, rinfo) => {
  app = { port: rinfo.port, address: rinfo.address }
  if (out && out.push(buf)) return
  if (waiting.length < 64) waiting.push(buf)
  openStream()
})

// What the peer's connections are: direct once one that is not relayed is
// open; and our stream moves onto it.
setInterval(() => {
  if (!peer) return
  const conns = node.getConnections(peer)
  const direct = conns.find((c) => !c.limits)
  put(`${name}.path`, `${direct ? 'direct' : conns.length ? 'relay' : 'none'} ${conns.map((c) => c.remoteAddr.toString()).join(' ')}\n`)
  if (direct && out && out.conn !== direct) { out = null; openStream() }
}, 200)

node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  log('connection open', c.remoteAddr.toString(), c.limits ? '(limited: relayed)' : '')
  if (peer && c.remotePeer.equals(peer) && !c.limits) { out = null; openStream() }
})

local.bind(Number(listen), '127.0.0.1')
if (name > other) {
  // the listener: wait for its relayed address, then leave it for a
  for (;;) {
    const circuit = node.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))
    if (circuit) { put(`${name}.addr`, circuit.toString() + '\n'); log('reachable at', circuit.toString()); break }
    await sleep(20)
  }
  node.addEventListener('peer:connect', (evt) => { if (evt.detail.toString() !== relayId) peer = evt.detail })
} else {
  const addr = multiaddr(await readWhenThere(`${other}.addr`))
  const conn = await node.dial(addr)
  peer = conn.remotePeer
  log('dialled', addr.toString())
  openStream()
}
const stop = async () => { await node.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
