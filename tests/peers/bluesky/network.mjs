// Start the real Bluesky servers (PLC, PDS, AppView, bsync, Ozone) from @atproto/dev-env on
// 127.0.0.1, print one JSON line with their URLs when ready, and on SIGTERM/SIGINT close them
// and drop the PostgreSQL schemas they created.
//
//   node network.mjs [--schema NAME] [--rate-limits]   start a network
//   node network.mjs --drop-schema NAME                 only drop NAME's schemas (crash cleanup)
//
// Environment: DB_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
// REDIS_HOST (default 127.0.0.1:6379). Set TMPDIR to a folder of your own: each PDS keeps its
// SQLite files and blobs under os.tmpdir(), and the caller removes that folder afterwards.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'

import pg from 'pg'

const { values: args } = parseArgs({
  options: {
    schema: { type: 'string' },
    'rate-limits': { type: 'boolean', default: false },
    'drop-schema': { type: 'string' },
  },
})

process.env.DB_POSTGRES_URL ||= 'postgresql://postgres@127.0.0.1:5432/postgres'
process.env.REDIS_HOST ||= '127.0.0.1:6379'

const SCHEMA_RE = /^[a-z_]+$/ // digits crash bsync's migrations

function randomSchema() {
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  return 'hub_' + Array.from(randomBytes(10), (b) => letters[b % 26]).join('')
}

async function dropSchemas(schema) {
  if (!SCHEMA_RE.test(schema)) throw new Error(`bad schema name: ${schema}`)
  const client = new pg.Client({ connectionString: process.env.DB_POSTGRES_URL })
  await client.connect()
  try {
    for (const prefix of ['appview', 'bsync', 'ozone']) {
      await client.query(`DROP SCHEMA IF EXISTS "${prefix}_${schema}" CASCADE`)
    }
  } finally {
    await client.end()
  }
}

const loopback = (url) => url.replace('//localhost:', '//127.0.0.1:')

async function main() {
  if (args['drop-schema']) {
    await dropSchemas(args['drop-schema'])
    return
  }
  const schema = args.schema ?? randomSchema()
  if (!SCHEMA_RE.test(schema)) throw new Error(`bad schema name: ${schema}`)

  // Imported here so --drop-schema stays fast.
  const { TestNetwork } = await import('@atproto/dev-env')
  const started = Date.now()
  let network
  try {
    network = await TestNetwork.create({
      dbPostgresSchema: schema,
      // In-memory limiter (no Redis scratch): nothing outlives the run.
      pds: args['rate-limits'] ? { rateLimitsEnabled: true } : {},
    })
  } catch (err) {
    await dropSchemas(schema).catch(() => {})
    throw err
  }

  let closing = false
  const shutdown = async () => {
    if (closing) return
    closing = true
    try {
      await network.close()
    } catch (err) {
      console.error('network.mjs: close failed:', err)
    }
    try {
      await dropSchemas(schema)
    } catch (err) {
      console.error('network.mjs: dropping schemas failed:', err)
      process.exitCode = 1
    }
    process.exit()
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  // The parent died without signalling us: its end of stdin closes.
  process.stdin.on('end', shutdown)
  process.stdin.resume()

  const ready = {
    schema,
    plc: loopback(network.plc.url),
    pds: loopback(network.pds.url),
    appview: loopback(network.bsky.url),
    ozone: loopback(network.ozone.url),
    pds_did: network.pds.ctx.cfg.service.did,
    rate_limits: args['rate-limits'],
    startup_ms: Date.now() - started,
  }
  process.stdout.write(JSON.stringify(ready) + '\n')
}

main().catch((err) => {
  console.error('network.mjs:', err)
  process.exit(1)
})
