// One peer: a HyperDHT node bootstrapped from the relay host's three. b
// listens on a key pair whose public key it leaves in DIR/b.key; a connects
// to it. Datagrams to 127.0.0.1:LISTEN go over the connection as
// unreliable messages; what arrives is given to the local program that
// sent last, or (before any) to 127.0.0.1:DELIVER, the harness's echo.
// The connection's far end is written to DIR/NAME.path.
// usage: node peer.mjs NAME PEER DIR BOOTSTRAP LISTEN DELIVER
import DHT from 'hyperdht'
import dgram from 'node:dgram'
import fs from 'node:fs'

const [name, other, dir, bootstrap, listen, deliver] = process.argv.slice(2)
const log = (...m) => console.error(`hyperdht ${name}:`, ...m)
const node = new DHT({ bootstrap: bootstrap.split(',') })
const local = dgram.createSocket('udp4')
let app = null
let conn = null

function put (file, text) {
  fs.writeFileSync(`${dir}/${file}.tmp`, text)
  fs.renameSync(`${dir}/${file}.tmp`, `${dir}/${file}`)
}

function carry (socket) {
  conn = socket
  socket.on('error', (err) => log('connection:', err.message))
  socket.on('message', (buf) => {
    const to = app || { port: Number(deliver), address: '127.0.0.1' }
    local.send(buf, to.port, to.address)
  })
  socket.on('open', () => {
    const raw = socket.rawStream
    const where = `${raw.remoteHost}:${raw.remotePort}`
    log('connected, far end', where, socket.relay ? '(relayed)' : '')
    put(`${name}.path`, `${socket.relay ? 'relay' : 'direct'} ${where}\n`)
  })
  socket.on('close', () => { conn = null })
}

local.on('message', (buf, rinfo) => {
  app = { port: rinfo.port, address: rinfo.address }
  if (conn && conn.rawStream) conn.send(buf)
})
local.bind(Number(listen), '127.0.0.1')

await node.ready()
log('DHT node up; firewalled:', node.firewalled, 'NAT:', node.port, node.host)
if (name > other) {
  // the listener: its key pair from a seed of its own
  const keyPair = DHT.keyPair()
  const server = node.createServer((socket) => carry(socket))
  await server.listen(keyPair)
  put(`${name}.key`, keyPair.publicKey.toString('hex') + '\n')
  log('listening')
} else {
  let key = null
  while (!key) {
    try { key = Buffer.from(fs.readFileSync(`${dir}/${other}.key`, 'utf8').trim(), 'hex') } catch { await new Promise((r) => setTimeout(r, 20)) }
  }
  const connect = () => {
    const socket = node.connect(key)
    carry(socket)
    socket.on('error', () => setTimeout(connect, 1000))
  }
  connect()
}
const stop = async () => {
  if (conn) conn.destroy()
  await node.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
