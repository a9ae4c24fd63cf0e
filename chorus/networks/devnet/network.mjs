// A real local Bluesky network (PLC, PDS, AppView, Ozone) from @atproto/dev-env, for tests and
// demos. Started by manager.py, which passes everything through the environment:
//   CHORUS_DEVNET_MODULES  node_modules folder holding @atproto/dev-env
//   CHORUS_DEVNET_PORTS    JSON {"plc": 2582, "pds": 2583, "appview": 2584, "ozone": 2587}
//   CHORUS_DEVNET_DB       PostgreSQL URL of the server (any database); the network gets a
//                          database of its own, CHORUS_DEVNET_DB_NAME, re-created on each start
//                          because account DIDs are new every time.
// Prints one JSON line {"ready": true, ...urls} once it serves, and closes on SIGTERM/SIGINT.
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const modules = process.env.CHORUS_DEVNET_MODULES
const ports = JSON.parse(process.env.CHORUS_DEVNET_PORTS)
const serverUrl = new URL(process.env.CHORUS_DEVNET_DB)
const databaseName = process.env.CHORUS_DEVNET_DB_NAME

const requireFromTools = createRequire(path.join(modules, 'noop.js'))
const importFromTools = (name) => import(pathToFileURL(requireFromTools.resolve(name)).href)

async function recreateDatabase() {
  const { default: pg } = await importFromTools('pg')
  const admin = new pg.Client({ connectionString: serverUrl.href })
  await admin.connect()
  try {
    // The manager builds the name from a port number; quoted all the same.
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`)
    await admin.query(`CREATE DATABASE "${databaseName}"`)
  } finally {
    await admin.end()
  }
}

async function main() {
  await recreateDatabase()
  const databaseUrl = new URL(serverUrl.href)
  databaseUrl.pathname = `/${databaseName}`
  const { TestNetwork } = await importFromTools('@atproto/dev-env')
  const network = await TestNetwork.create({
    dbPostgresUrl: databaseUrl.href,
    dbPostgresSchema: 'chorus',
    plc: { port: ports.plc },
    pds: { port: ports.pds, hostname: 'localhost' },
    bsky: { port: ports.appview },
    ozone: { port: ports.ozone },
  })
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    try {
      await network.close()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
  console.log(
    JSON.stringify({
      ready: true,
      plc: network.plc.url,
      pds: network.pds.url,
      appview: network.bsky.url,
      ozone: network.ozone.url,
    }),
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
