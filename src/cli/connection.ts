// The connection options every subcommand shares (OpenStack's names), and the API client
// they make.

import type { Command } from 'commander'
import { connect, type ConnectionFlags } from './credentials.js'
import { ImageApi } from './api.js'

export function connectionOptions (program: Command): Command {
  return program
    .option('--os-cloud <name>', 'a cloud from clouds.yaml (default: OS_CLOUD)')
    .option('--os-image-url <url>', 'the Images API endpoint (default: OS_IMAGE_URL, the Keystone catalog, or http://127.0.0.1:9292)')
    .option('--os-auth-url <url>', 'Keystone (default: OS_AUTH_URL); with OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME... as openstack reads them')
    .option('--os-token <token>', 'a token to send as X-Auth-Token (default: OS_TOKEN)')
    .option('--os-interface <interface>', 'the catalog interface (default: OS_INTERFACE or public)')
    .option('--os-region-name <region>', 'the catalog region (default: OS_REGION_NAME)')
    .option('--identity <project:user:roles>', 'speak through trusted headers (X-Identity-Status: Confirmed, X-Project-Id, X-User-Id, X-Roles), for a server with flavor = trusted-auth')
}

export async function apiFrom (program: Command): Promise<ImageApi> {
  return new ImageApi(await connect(program.opts<ConnectionFlags>()))
}
