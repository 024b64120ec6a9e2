// The private DHT on the relay host: three nodes on consecutive ports of
// one address, each a bootstrapper (persistent, not firewalled), the two
// later ones joined to the first. Never a public node.
// usage: node relay.mjs ADDR PORT
import DHT from 'hyperdht'

const [host, first] = [process.argv[2], Number(process.argv[3])]
const nodes = []
for (let i = 0; i < 3; i++) {
  const node = DHT.bootstrapper(first + i, host, i ? { bootstrap: [`${host}:${first}`] } : {})
  await node.ready()
  nodes.push(node)
  console.error(`hyperdht relay: node ${i + 1} on ${host}:${first + i}`)
}
const stop = async () => {
  for (const n of nodes) await n.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
