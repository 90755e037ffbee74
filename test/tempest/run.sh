#!/usr/bin/env bash
# tempest's Image API v2 tests (tempest.api.image.v2, Debian's tempest 33) against Glint with
# Keystone: boots the test Keystone (test/keystone/keystone.sh), starts two Glints sharing one
# registry and store (the second registered as `image_remote`), runs tempest, and prints
#   tempest: N passed, N failed, N skipped
# Tests that wait for features not built yet are excluded (test/tempest/excluded.txt names
# the issue each waits for) and counted as skipped. Exit status: tempest's.
# Recipe and pitfalls: /work/shared/reference/keystone-tempest.md.
#
#   test/tempest/run.sh [--all]      --all: run the excluded tests too
# GLINT_TEMPEST_REGEX (default ^tempest.api.image.v2) runs a subset, e.g. 'glance_download'.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${GLINT_TEMPEST_DIR:-/tmp/glint-tempest}
EXCLUDED=$ROOT/test/tempest/excluded.txt
PG_ADMIN_URL=${GLINT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${GLINT_TEMPEST_DB:-glint_tempest}
say() { printf '[tempest] %s\n' "$*" >&2; }

PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

test/keystone/keystone.sh up
KEYSTONE=http://127.0.0.1:${GLINT_KEYSTONE_PORT:-5000}

rm -rf "$WORK"
mkdir -p "$WORK/images-a" "$WORK/images-b" "$WORK/staging" "$WORK/http"
psql "$PG_ADMIN_URL" -qAtc "drop database if exists $DB with (force)" >/dev/null
psql "$PG_ADMIN_URL" -qAtc "create database $DB" >/dev/null

# the small image tempest downloads over http (web-download, locations), on loopback
HTTP_PORT=$(free_port)
PORT_A=$(free_port); PORT_B=$(free_port)

cat >"$WORK/glance-api.conf" <<CONF
[DEFAULT]
enabled_backends = fast:file, cheap:file, web:http
# glance-download (not in Glance's default list) reads the source image from the catalog's
# image endpoint in RegionOne: these Glints themselves, on loopback (allowed below)
enabled_import_methods = [glance-direct, web-download, copy-image, glance-download]
show_multiple_locations = true
image_cache_dir = $WORK/cache
# Glance's prefetcher runs every 300 s; tempest waits build_timeout (120 s) for a queued image
cache_prefetcher_interval = 10
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = $WORK/images-a
[cheap]
filesystem_store_datadir = $WORK/images-b
# glance-direct's staging store, shared by both Glints: tempest stages through one and imports
# (or deletes) through the other (image_remote)
[os_glance_staging_store]
filesystem_store_datadir = $WORK/staging
[database]
connection = ${PG_ADMIN_URL%/*}/$DB
# http locations are fetched through this filter (as Glance 25.1 does): loopback only when allowed
[import_filtering_opts]
allowed_hosts = 127.0.0.1
allowed_ports = $HTTP_PORT, $PORT_A, $PORT_B
[paste_deploy]
flavor = keystone+cachemanagement
[keystone_authtoken]
auth_url = $KEYSTONE
www_authenticate_uri = $KEYSTONE
auth_type = password
username = glance
password = glance
project_name = service
user_domain_name = Default
project_domain_name = Default
CONF

start_glint() {
	local port=$1 log=$2
	GLINT_PORT=$port GLINT_DATA_DIR=$WORK/data-$port setsid node dist/src/main.js --config-file "$WORK/glance-api.conf" </dev/null >"$log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 600); do
		grep -q '"msg":"listening"' "$log" 2>/dev/null && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.2
	done
	say "Glint on :$port did not start"; return 1
}
start_glint "$PORT_A" "$WORK/glint-a.log"
start_glint "$PORT_B" "$WORK/glint-b.log"
test/keystone/keystone.sh register image "http://127.0.0.1:$PORT_A"
# the metadata definitions Glance ships (Debian's glance-common), as glance-manage db_load_metadefs
# loads them: tempest's metadefs tests use the first resource type listed
if [[ -d /etc/glance/metadefs ]]; then
	node bin/glint.js metadefs load /etc/glance/metadefs --config-file "$WORK/glance-api.conf" >&2
fi
test/keystone/keystone.sh register image_remote "http://127.0.0.1:$PORT_B"

head -c 1048576 /dev/urandom >"$WORK/http/image.raw"
setsid python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK/http" </dev/null >"$WORK/http.log" 2>&1 &
PIDS+=($!)

cd "$WORK"
tempest init --name "glint-tempest-$$" "$WORK/ws" >/dev/null 2>&1 || tempest init "$WORK/ws" >/dev/null
rm -f "$WORK/ws/etc/logging.conf"
cat >"$WORK/ws/etc/tempest.conf" <<CONF
[DEFAULT]
log_dir = $WORK/ws/logs
[auth]
use_dynamic_credentials = True
create_isolated_networks = False
admin_username = admin
admin_password = admin
admin_project_name = admin
admin_domain_name = Default
[identity]
uri_v3 = $KEYSTONE/v3
auth_version = v3
region = RegionOne
[identity-feature-enabled]
api_v2 = False
[service_available]
glance = True
nova = False
neutron = False
cinder = False
swift = False
horizon = False
[image]
http_image = http://127.0.0.1:$HTTP_PORT/image.raw
image_caching_enabled = True
alternate_image_endpoint = image_remote
build_timeout = 120
[image-feature-enabled]
api_v2 = True
api_v1 = False
import_image = True
os_glance_reserved = True
manage_locations = True
CONF

cd "$WORK/ws"
args=(--concurrency 2 --regex "${GLINT_TEMPEST_REGEX:-^tempest.api.image.v2}")
if [[ ${1:-} != --all ]]; then args+=(--exclude-list "$EXCLUDED"); fi
set +e
tempest run "${args[@]}" >"$WORK/tempest.out" 2>&1
rc=$?
set -e
tail -n 40 "$WORK/tempest.out" >&2
# tempest's own totals (stestr's CSV cannot be split: test ids contain commas)
total() { sed -n "s/^ - $1: \([0-9]*\)$/\1/p" "$WORK/tempest.out" | tail -n 1; }
passed=$(total Passed); failed=$(total Failed); skipped=$(total Skipped)
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
# no totals at all: tempest did not run; count that as a failure
if ! grep -q '^ - Passed:' "$WORK/tempest.out"; then failed=1; cat "$WORK/tempest.out" >&2; fi
excluded=0
if [[ ${1:-} != --all ]]; then excluded=$(grep -cv '^\s*\(#\|$\)' "$EXCLUDED" || true); fi
grep -E '\.\.\. FAILED$' "$WORK/tempest.out" | sort -u | sed 's/^{[0-9]*} /[tempest] FAILED /' >&2 || true
if [[ ${1:-} != --all ]]; then grep -v '^\s*\(#\|$\)' "$EXCLUDED" | sed 's/^/[tempest] skipped (excluded, see test\/tempest\/excluded.txt) /' >&2 || true; fi
echo "tempest: $passed passed, $failed failed, $((skipped + excluded)) skipped"
exit $rc
