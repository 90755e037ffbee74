// `glint adopt --config-file GLINT.conf (--glance-config glance-api.conf | --glance-connection URL) [--apply]`:
// takes a Glance's images into Glint's registry without moving data (src/adopt). A dry run
// unless --apply. Exits 1 when any image cannot be taken.

import type { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../../config/load.js'
import { parseOsloIni } from '../../config/oslo-ini.js'
import { adopt } from '../../adopt/adopt.js'
import { renderTable } from '../table.js'

interface AdoptFlags {
  configFile?: string
  glanceConfig?: string
  glanceConnection?: string
  apply?: boolean
  storeMap: string[]
  verifyData: boolean
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

export function adoptCommand (program: Command): void {
  program.command('adopt')
    .description("take over an existing Glance's images (properties, tags, members, locations, tasks) from its database, leaving the data where it is; a dry run unless --apply")
    .option('--config-file <file>', "Glint's glance-api.conf: its stores and its registry ([database] connection or DATABASE_URL)")
    .option('--glance-config <file>', "the Glance's glance-api.conf, for its [database] connection")
    .option('--glance-connection <url>', "the Glance's database, as [database] connection spells it (postgresql+psycopg2://..., mysql+pymysql://...)")
    .option('--apply', 'write into Glint (default: only report what would be taken)')
    .option('--store-map <glance=glint>', "a Glance store id (or, for locations without one, a scheme) -> a Glint store id (several allowed)", collect, [])
    .option('--no-verify-data', "do not check that each location's data is there with the image's size")
    .action(async (flags: AdoptFlags) => {
      const connection = flags.glanceConnection ?? glanceConnectionOf(flags.glanceConfig)
      const storeMap: Record<string, string> = {}
      for (const pair of flags.storeMap) {
        const [from, to] = pair.split('=')
        if (from === undefined || to === undefined || from === '' || to === '') throw new Error(`--store-map takes GLANCE=GLINT, got ${pair}`)
        storeMap[from] = to
      }
      const config = loadConfig(flags.configFile)
      const report = await adopt(config, { glanceConnection: connection, apply: flags.apply === true, storeMap, verifyData: flags.verifyData })

      const order = { take: 0, present: 1, cannot: 2, ignore: 3 }
      const rows = [...report.decisions].sort((a, b) => order[a.action] - order[b.action])
      const verb = flags.apply === true ? 'taken' : 'would take'
      process.stdout.write(renderTable(['ID', 'NAME', 'STATUS', 'STORES', 'RESULT'], rows.map((d) => [
        d.image.id, d.image.name ?? '', d.image.status, d.locations.map((l) => l.store).join(',') || '-',
        d.action === 'take' ? verb : d.action === 'present' ? 'already in Glint' : `${d.action === 'cannot' ? 'CANNOT' : 'left'}: ${d.reason ?? ''}`
      ])))
      const count = (a: string): number => report.decisions.filter((d) => d.action === a).length
      const taken = report.decisions.filter((d) => d.action === 'take')
      const sum = (f: (d: typeof taken[number]) => number): number => taken.reduce((n, d) => n + f(d), 0)
      const what = `${count('take')} images (${sum((d) => d.locations.length)} locations, ${sum((d) => Object.keys(d.image.properties).length)} properties, ` +
        `${sum((d) => d.image.tags.length)} tags, ${sum((d) => d.image.members.length)} members) and ${report.tasks.take.length} tasks`
      process.stdout.write(`\n${flags.apply === true ? `taken: ${what}` : `dry run: would take ${what}; --apply writes them`}\n`)
      process.stdout.write(`already in Glint: ${count('present')} images, ${report.tasks.present} tasks; left (deleted or killed in Glance): ${count('ignore')}; cannot: ${count('cannot')}\n`)
      if (count('cannot') > 0) process.exitCode = 1
    })
}

function glanceConnectionOf (file: string | undefined): string {
  if (file === undefined) throw new Error('give --glance-config (the Glance\'s glance-api.conf) or --glance-connection')
  // read as oslo.config reads it (a password may hold '#' or ';')
  const connection = parseOsloIni(readFileSync(file, 'utf8')).sections.database?.connection
  if (connection === undefined || connection === '') throw new Error(`${file} has no [database] connection`)
  return connection
}
