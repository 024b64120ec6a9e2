// The circuit relay v2 on the relay host: a libp2p node on TCP that serves
// reservations (limits raised for a lab's minutes of probes). Its address,
// with its peer id, goes to DIR/relay.addr.
// usage: node relay.mjs ADDR PORT DIR
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import fs from 'node:fs'

const [host, port, dir] = process.argv.slice(2)
const node = await createLibp2p({
  addresses: { listen: [`/ip4/${host}/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    relay: circuitRelayServer({
      reservations: { maxReservations: 64, defaultDataLimit: BigInt(1 << 30), defaultDurationLimit: 60 * 60 * 1000 }
    })
  }
})
const addr = `/ip4/${host}/tcp/${port}/p2p/${node.peerId.toString()}`
fs.writeFileSync(`${dir}/relay.addr.tmp`, addr + '\n')
fs.renameSync(`${dir}/relay.addr.tmp`, `${dir}/relay.addr`)
console.error('libp2p relay:', addr)
const stop = async () => { await node.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
