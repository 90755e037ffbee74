#!/usr/bin/env bash
# A Keystone on loopback for Glint's tests, CI (tempest) and benchmarks: Debian's keystone under
# uwsgi, PostgreSQL as its database, everything else under $GLINT_KEYSTONE_DIR.
#
#   test/keystone/keystone.sh up            boot (idempotent; well under a second when already up)
#   test/keystone/keystone.sh down          stop every uwsgi it started, drop the database, delete the dir
#   test/keystone/keystone.sh start [PORT]  serve this Keystone (same database and keys) on PORT
#                                           (default: the main port); a test's private endpoint it may stop
#   test/keystone/keystone.sh stop [PORT]   stop the uwsgi serving PORT (default: the main port), keep data
#   test/keystone/keystone.sh status        one line: dir url up|down
#   test/keystone/keystone.sh env           shell exports: GLINT_KEYSTONE_URL, admin and glance credentials
#   test/keystone/keystone.sh register TYPE URL
#                                           (re)point service TYPE (image, image_remote) at URL, all interfaces
#
# Accounts made by `up`: admin/admin (role admin on project admin, domain Default), and the
# service user glance/glance (role admin on project service). Roles admin, member, reader.
# Environment: GLINT_KEYSTONE_DIR (default /tmp/glint-keystone), GLINT_KEYSTONE_PORT (default
# 5000), GLINT_KEYSTONE_DB (default glint_keystone), GLINT_TEST_PG_URL (PostgreSQL as superuser).
# Recipe and pitfalls: /work/shared/reference/keystone-tempest.md.
set -Eeuo pipefail

DIR=$(realpath -m -- "${GLINT_KEYSTONE_DIR:-/tmp/glint-keystone}")
PORT=${GLINT_KEYSTONE_PORT:-5000}
DB=${GLINT_KEYSTONE_DB:-glint_keystone}
PG_ADMIN_URL=${GLINT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL=${PG_ADMIN_URL%/*}/$DB
CONF=$DIR/keystone.conf
READY=$DIR/.provisioned
LOCK=$DIR.lock
STOP_GRACE=10
readonly DIR PORT DB PG_ADMIN_URL PG_URL CONF READY LOCK STOP_GRACE

say() { printf 'keystone.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

url_of() { printf 'http://127.0.0.1:%s/v3' "$1"; }
pidfile_of() { printf '%s/run/uwsgi-%s.pid' "$DIR" "$1"; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

responds() { curl -fs -m 5 -o /dev/null "$(url_of "$1")"; }

# Retry "$@" every 0.3 s for up to $2 seconds.
wait_for() {
	local what=$1 seconds=$2 i
	shift 2
	for ((i = 0; i < seconds * 10 / 3; i++)); do
		if "$@"; then return 0; fi
		sleep 0.3
	done
	say "gave up after ${seconds}s waiting for $what (log: $DIR/log)"
	return 1
}

psql_admin() { psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }

write_config() {
	mkdir -p "$DIR"/{log,run,fernet-keys,credential-keys}
	chmod 700 "$DIR/fernet-keys" "$DIR/credential-keys"
	cat >"$CONF" <<EOF
# Written by test/keystone/keystone.sh
[DEFAULT]
log_dir = $DIR/log
log_file = keystone.log
[database]
connection = ${PG_URL/postgres:/postgresql:}
# PostgreSQL's max_connections (100) is shared by everything on this machine
max_pool_size = 4
max_overflow = 4
[token]
provider = fernet
[fernet_tokens]
key_repository = $DIR/fernet-keys
[fernet_receipts]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
# Without this cache every token validation costs ~500 SQL queries (0.4-1 s). It is per
# process, hence one uwsgi process with threads.
[cache]
enabled = True
backend = dogpile.cache.memory
[identity]
# test speed only
password_hash_rounds = 4
EOF
}

write_uwsgi_ini() {
	local port=$1
	cat >"$DIR/run/uwsgi-$port.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$port
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$CONF
processes = 1
threads = 8
master = true
die-on-term = true
lazy-apps = true
buffer-size = 65535
# uwsgi's http-socket mishandles keep-alive (sporadic 401 / connection reset without this)
add-header = Connection: close
EOF
}

provision() {
	[[ -f $READY ]] && return 0
	say "provisioning $DIR (database $DB)"
	write_config
	if [[ -z $(psql_admin "select 1 from pg_database where datname = '$DB'") ]]; then
		psql_admin "create database $DB"
	fi
	local manage=(keystone-manage --config-file "$CONF")
	"${manage[@]}" db_sync >>"$DIR/log/setup.log" 2>&1 || die "db_sync failed: see $DIR/log"
	"${manage[@]}" fernet_setup --keystone-user root --keystone-group root >>"$DIR/log/setup.log" 2>&1
	"${manage[@]}" credential_setup --keystone-user root --keystone-group root >>"$DIR/log/setup.log" 2>&1
	"${manage[@]}" bootstrap --bootstrap-password admin \
		--bootstrap-admin-url "$(url_of "$PORT")" --bootstrap-public-url "$(url_of "$PORT")" \
		--bootstrap-internal-url "$(url_of "$PORT")" --bootstrap-region-id RegionOne >>"$DIR/log/setup.log" 2>&1 ||
		die "bootstrap failed: see $DIR/log"
	start_uwsgi "$PORT"
	# the service user keystonemiddleware (and Glint) validates tokens with
	OS_AUTH_URL=$(url_of "$PORT") /usr/bin/python3 - <<'EOF' >>"$DIR/log/setup.log" 2>&1 || die "creating the service project and user failed: see $DIR/log"
import os
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client
auth = v3.Password(auth_url=os.environ['OS_AUTH_URL'], username='admin', password='admin', project_name='admin',
                   user_domain_id='default', project_domain_id='default')
ks = client.Client(session=session.Session(auth=auth))
project = next(iter(ks.projects.list(name='service')), None) or ks.projects.create('service', 'default')
user = next(iter(ks.users.list(name='glance')), None) or ks.users.create('glance', domain='default', password='glance')
admin = ks.roles.list(name='admin')[0]
ks.roles.grant(admin, user=user, project=project)
EOF
	touch "$READY"
}

start_uwsgi() {
	local port=$1 pidfile
	pidfile=$(pidfile_of "$port")
	if alive "$pidfile"; then
		wait_for "Keystone on :$port" 60 responds "$port"
		return 0
	fi
	[[ -f $CONF ]] || die "not provisioned: run up first"
	write_uwsgi_ini "$port"
	# fd 9 (the lock) must not live on in the daemon
	setsid uwsgi --ini "$DIR/run/uwsgi-$port.ini" </dev/null >>"$DIR/log/uwsgi-$port.log" 2>&1 9>&- &
	echo $! >"$pidfile"
	wait_for "Keystone on :$port" 60 responds "$port"
}

stop_uwsgi() {
	local port=$1 pidfile pid i
	pidfile=$(pidfile_of "$port")
	if ! alive "$pidfile"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_GRACE * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

cmd_up() {
	if [[ -f $READY ]] && alive "$(pidfile_of "$PORT")" && responds "$PORT"; then return 0; fi
	provision
	start_uwsgi "$PORT"
}

cmd_down() {
	local pidfile
	for pidfile in "$DIR"/run/uwsgi-*.pid; do
		[[ -f $pidfile ]] || continue
		local port=${pidfile##*/uwsgi-}
		stop_uwsgi "${port%.pid}"
	done
	psql_admin "drop database if exists $DB with (force)" || true
	rm -rf -- "$DIR"
}

cmd_status() {
	local state=down
	if alive "$(pidfile_of "$PORT")" && responds "$PORT"; then state=up; fi
	printf '%s %s %s\n' "$DIR" "$(url_of "$PORT")" "$state"
}

cmd_env() {
	cat <<EOF
export GLINT_KEYSTONE_URL=$(url_of "$PORT")
export GLINT_KEYSTONE_DIR=$DIR
export GLINT_KEYSTONE_ADMIN=admin:admin:admin
export GLINT_KEYSTONE_SERVICE=glance:glance:service
EOF
}

cmd_register() {
	local type=$1 url=$2
	OS_AUTH_URL=$(url_of "$PORT") SERVICE_TYPE=$type SERVICE_URL=$url /usr/bin/python3 - <<'EOF'
import os
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client
auth = v3.Password(auth_url=os.environ['OS_AUTH_URL'], username='admin', password='admin', project_name='admin',
                   user_domain_id='default', project_domain_id='default')
ks = client.Client(session=session.Session(auth=auth))
kind, url = os.environ['SERVICE_TYPE'], os.environ['SERVICE_URL']
service = next(iter(ks.services.list(type=kind)), None) or ks.services.create(name='glance' if kind == 'image' else kind, type=kind)
for endpoint in ks.endpoints.list(service=service):
    ks.endpoints.delete(endpoint)
for interface in ('public', 'internal', 'admin'):
    ks.endpoints.create(service, url, interface=interface, region='RegionOne')
EOF
}

main() {
	local command=${1:-}
	shift || true
	mkdir -p "${DIR%/*}"
	case $command in
	up) exec 9>"$LOCK"; flock 9; cmd_up ;;
	down) exec 9>"$LOCK"; flock 9; cmd_down ;;
	start) exec 9>"$LOCK"; flock 9; start_uwsgi "${1:-$PORT}" ;;
	stop) exec 9>"$LOCK"; flock 9; stop_uwsgi "${1:-$PORT}" ;;
	status) cmd_status ;;
	env) cmd_env ;;
	register) [[ $# -eq 2 ]] || die "usage: register TYPE URL"; cmd_register "$1" "$2" ;;
	*) die "usage: $0 up|down|start [PORT]|stop [PORT]|status|env|register TYPE URL" ;;
	esac
}

main "$@"
