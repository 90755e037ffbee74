// Starting from an operator's glance-api.conf and the environment (README "Configuration"):
// options Glint does not use are reported once and ignored; a malformed line, value or
// variable stops the start with a message naming it, and nothing is served.

import t from 'tap'
import { startGlint } from './helpers/glint.js'

t.test('a malformed value stops the start, naming the file, line and option', async (t) => {
  await t.rejects(startGlint({ config: '[DEFAULT]\nbind_host = 127.0.0.1\nworkers = many\n' }),
    /glance-api\.conf: line 3: \[DEFAULT\] workers = many: not an integer/)
  await t.rejects(startGlint({ config: '[DEFAULT]\nshow_image_direct_url = maybe\n' }),
    /line 2: \[DEFAULT\] show_image_direct_url = maybe/)
})

t.test('a default_backend that is not enabled stops the start', async (t) => {
  await t.rejects(startGlint({ config: '[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = ceph\n[local]\nfilesystem_store_datadir = {dataDir}/x\n' }),
    /default_backend = ceph is not one of enabled_backends \(local\)/)
})

t.test('options Glint does not use are listed once and ignored', async (t) => {
  const glint = await startGlint({ config: '[DEFAULT]\nfrobnicate = 1\nimage_cache_driver = sqlite\n[oslo_reports]\nlog_dir = x\n' })
  t.teardown(() => glint.stop())
  const warnings = glint.output().split('\n').filter((line) => line.includes('options Glint does not use were ignored'))
  t.equal(warnings.length, 1, 'one warning')
  t.same(JSON.parse(warnings[0]).options, ['[DEFAULT] frobnicate', '[DEFAULT] image_cache_driver', '[oslo_reports]'])
  t.equal((await glint.request('GET', '/healthcheck')).status, 200, 'and the server serves')
})

t.test('environment: an empty variable is unset, a malformed one stops the start', async (t) => {
  const glint = await startGlint({ env: { DATABASE_URL: '' } })
  t.teardown(() => glint.stop())
  t.match(glint.output(), /"mode":"embedded"/, 'DATABASE_URL= means the embedded registry')
  t.equal((await glint.request('POST', '/v2/images', { json: { name: 'x' } })).status, 201)

  await t.rejects(startGlint({ env: { DATABASE_URL: 'mysql://glance@db/glance' } }),
    /DATABASE_URL is a MySQL database \(mysql:\/\/\.\.\.\): Glint needs PostgreSQL/)
  await t.rejects(startGlint({ config: '[database]\nconnection = sqlite:///glance.db\n' }),
    /line 2: \[database\] connection must be a postgresql:\/\/ URL, got sqlite:\/\/\.\.\./)
  await t.rejects(startGlint({ env: { GLINT_PORT: 'http' } }), /GLINT_PORT must be a port number, got http/)
  await t.rejects(startGlint({ env: { GLINT_PORT: '70000' } }), /GLINT_PORT must be at most 65535, got 70000/)
})

t.test('import plugins: image_conversion is read, others reported, a bad output_format stops the start', async (t) => {
  await t.rejects(startGlint({ config: "[image_import_opts]\nimage_import_plugins = ['image_conversion']\n[image_conversion]\noutput_format = vhd\n" }),
    /line 4: \[image_conversion\] output_format must be one of raw, qcow2, vmdk, not vhd/)
  const glint = await startGlint({ config: "[image_import_opts]\nimage_import_plugins = ['image_conversion', 'inject_image_metadata']\n[image_conversion]\noutput_format = raw\n" })
  t.teardown(() => glint.stop())
  const warning = glint.output().split('\n').find((line) => line.includes('options Glint does not use were ignored'))
  t.same(JSON.parse(warning ?? '{}').options, ['[image_import_opts] image_import_plugins: inject_image_metadata'], 'the plugin Glint lacks is reported, image_conversion is not')
})
