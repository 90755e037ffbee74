// The subcommands of `glint`, one file each.

import type { Command } from 'commander'
import { serveCommand } from './serve.js'
import { uploadCommand } from './upload.js'
import { copyCommand } from './copy.js'
import { downloadCommand } from './download.js'
import { adoptCommand } from './adopt.js'
import { metadefsCommand } from './metadefs.js'
import { orphansCommand } from './orphans.js'

export const SUBCOMMANDS: Array<(program: Command) => void> = [serveCommand, uploadCommand, copyCommand, downloadCommand, adoptCommand, metadefsCommand, orphansCommand]
