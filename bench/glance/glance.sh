#!/usr/bin/env bash
# Run the real OpenStack Glance (Debian 12's glance-api 25.1.0) beside Glint for benchmarks.
#
#   glance.sh install                      apt-get install glance-api (+ psycopg2, rbd bindings) if missing
#   glance.sh start [--port 9393] [--workdir DIR] [--file-dir DIR] [--rbd-store SPEC]... [--keystone URL]
#                    [--import-from HOST:PORT]
#                    SPEC = ID=CONF[,pool=images][,user=admin][,keyring=FILE][,chunk=8]: this
#                    rbd store instead of the test clusters' ceph_a / ceph_b
#                    --keystone URL: Keystone tokens (keystonemiddleware) instead of trusted headers
#                    --import-from: web-download may fetch from HOST:PORT ([import_filtering_opts])
#   glance.sh stop [--workdir DIR]
#   glance.sh status [--port 9393] [--workdir DIR]
#
# No Keystone by default: a trusted-headers paste pipeline (Glance's own ContextMiddleware) plus
# a tiny filter that fills X-Identity-Status/X-Roles/X-Project-Id/X-User-Id with defaults when a
# client (glanceclient, openstacksdk) does not send them. With --keystone URL (e.g. the test
# Keystone, http://127.0.0.1:5000/v3): Debian's stock keystone pipeline (keystonemiddleware's
# auth_token, delay_auth_decision = true, then ContextMiddleware), validating tokens as the
# service user glance/glance of project service (test/keystone/keystone.sh makes it), with
# keystonemiddleware's defaults: no memcached_servers, so each worker process caches validated
# tokens in its own memory for token_cache_time = 300 s.
#
# Environment:
#   GLINT_CEPH_DIR   test Ceph clusters root (default /tmp/glint-ceph); the rbd stores ceph_a /
#                    ceph_b are configured only if $GLINT_CEPH_DIR/{a,b}/ceph.conf exist.
#   GLANCE_DB_URL    PostgreSQL server URL without database (default postgresql://postgres@127.0.0.1:5432)
#   GLANCE_DB_NAME   database name (default glance_bench)
#   GLANCE_WORKERS   eventlet workers (default: number of cores)
#   GLANCE_EXTRA_DEFAULTS  more lines for [DEFAULT] (e.g. "show_image_direct_url = true")
set -euo pipefail

# Debian's glance and its libraries live in the system interpreter; `python3` on PATH may be
# a pyenv shim without them.
readonly SYSTEM_PYTHON=/usr/bin/python3
readonly GLANCE_API_BIN=/usr/bin/glance-api
readonly GLANCE_MANAGE_BIN=/usr/bin/glance-manage

PORT=9393
PORT_GIVEN=0
WORKDIR=/tmp/glint-bench/glance
FILE_DIR=""
RBD_STORE_SPECS=()
KEYSTONE_URL=""
IMPORT_FROM=""
CEPH_DIR="${GLINT_CEPH_DIR:-/tmp/glint-ceph}"
DB_SERVER_URL="${GLANCE_DB_URL:-postgresql://postgres@127.0.0.1:5432}"
DB_NAME="${GLANCE_DB_NAME:-glance_bench}"
WORKERS="${GLANCE_WORKERS:-$(nproc)}"
RBD_USER="admin"
RBD_POOL=images
HEALTH_TIMEOUT_S=60
STOP_GRACE_S=10

log() { printf 'glance.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

parse_options() {
  while (($#)); do
    case "$1" in
      --port) PORT="${2:?--port needs a value}"; PORT_GIVEN=1; shift 2 ;;
      --port=*) PORT="${1#*=}"; PORT_GIVEN=1; shift ;;
      --workdir) WORKDIR="${2:?--workdir needs a value}"; shift 2 ;;
      --workdir=*) WORKDIR="${1#*=}"; shift ;;
      --file-dir) FILE_DIR="${2:?--file-dir needs a value}"; shift 2 ;;
      --file-dir=*) FILE_DIR="${1#*=}"; shift ;;
      --rbd-store) RBD_STORE_SPECS+=("${2:?--rbd-store needs a value}"); shift 2 ;;
      --rbd-store=*) RBD_STORE_SPECS+=("${1#*=}"); shift ;;
      --keystone) KEYSTONE_URL="${2:?--keystone needs a URL}"; shift 2 ;;
      --keystone=*) KEYSTONE_URL="${1#*=}"; shift ;;
      --import-from) IMPORT_FROM="${2:?--import-from needs HOST:PORT}"; shift 2 ;;
      --import-from=*) IMPORT_FROM="${1#*=}"; shift ;;
      -h|--help) usage 0 ;;
      *) die "unknown option: $1" ;;
    esac
  done
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number: $PORT"
  [[ -z "$IMPORT_FROM" || "$IMPORT_FROM" =~ ^[^:]+:[0-9]+$ ]] || die "--import-from must be HOST:PORT: $IMPORT_FROM"
  mkdir -p "$WORKDIR"
  WORKDIR="$(cd "$WORKDIR" && pwd -P)"   # absolute: it goes into config files
  if [[ -z "$FILE_DIR" ]]; then FILE_DIR="$WORKDIR/images"; fi
  mkdir -p "$FILE_DIR"
  FILE_DIR="$(cd "$FILE_DIR" && pwd -P)"
  CONF_FILE="$WORKDIR/glance-api.conf"
  PASTE_FILE="$WORKDIR/glance-api-paste.ini"
  PID_FILE="$WORKDIR/glance-api.pid"
  LOG_FILE="$WORKDIR/glance-api.log"
  CONSOLE_LOG="$WORKDIR/glance-api.console.log"
  # stop/status without --port: the port this workdir's Glance was started with.
  if ((!PORT_GIVEN)) && [[ -f "$CONF_FILE" ]]; then
    PORT="$(sed -n 's/^bind_port *= *\([0-9][0-9]*\)$/\1/p' "$CONF_FILE" | head -1)"
    PORT="${PORT:-9393}"
  fi
  BASE_URL="http://127.0.0.1:$PORT"
}

# ---------------------------------------------------------------- install

# Packages that are missing, by what Glance actually needs at run time.
list_missing_packages() {
  [[ -x "$GLANCE_API_BIN" ]] || echo glance-api
  "$SYSTEM_PYTHON" -c 'import psycopg2' 2>/dev/null || echo python3-psycopg2
  "$SYSTEM_PYTHON" -c 'import rbd, rados' 2>/dev/null || echo python3-rbd python3-rados
}

# Pids of glance-api servers however started: the eventlet binary, or Debian's init script,
# which runs uwsgi with /etc/glance/glance-api-uwsgi.ini.
list_glance_pids() {
  local proc pid cmdline
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    cmdline="$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)" || continue
    case "$cmdline" in
      *python3\ /usr/bin/glance-api\ *|*uwsgi*glance-api*) echo "$pid" ;;
    esac
  done
}

install_glance() {
  local missing
  missing="$(list_missing_packages | xargs)"
  if [[ -z "$missing" ]]; then
    log "glance-api and its Python dependencies are already installed"
    return 0
  fi
  log "installing: $missing"

  # Debian's postinst runs invoke-rc.d, which asks /usr/sbin/policy-rc.d whether it may start
  # the service; exit 101 means "no". Put one in place only for this install if none exists.
  local made_policy_rc=0 glance_pids_before
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from glint bench/glance/glance.sh install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy_rc=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  glance_pids_before="$(list_glance_pids | xargs)"

  export DEBIAN_FRONTEND=noninteractive
  # Another engineer's apt run may hold the lock; wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=600 update
  # shellcheck disable=SC2086  # word splitting of the package list is intended
  apt-get -o DPkg::Lock::Timeout=600 install -y $missing

  if ((made_policy_rc)); then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  stop_daemons_started_by_install "$glance_pids_before"
  [[ -x "$GLANCE_API_BIN" ]] || die "$GLANCE_API_BIN still missing after install"
  log "installed: $("$GLANCE_API_BIN" --version 2>&1 | tail -1)"
}

# Belt and braces: if a postinst started Glance anyway (e.g. a policy-rc.d that allows it),
# stop exactly those new processes, and make sure the stock port 9292 is free.
stop_daemons_started_by_install() {
  local before=" $1 " pid
  for pid in $(list_glance_pids); do
    [[ "$before" == *" $pid "* || "$pid" == "$$" ]] && continue
    log "stopping glance process $pid started by the package install"
    kill -TERM "$pid" 2>/dev/null || true
  done
  if port_is_listening 9292; then
    log "WARNING: something listens on 9292 after install: $(describe_listener 9292)"
  fi
}

# ---------------------------------------------------------------- helpers

port_is_listening() {
  ss -Hltn "sport = :$1" | grep -q .
}

describe_listener() {
  ss -Hltnp "sport = :$1" | head -3 | tr -s ' ' | tr '\n' ';'
}

# The PID from our pid file, if that process is still our glance-api (same config file).
read_our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  pid_is_our_glance "$pid" || return 1
  echo "$pid"
}

pid_is_our_glance() {
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *glance-api* && "$cmdline" == *"--config-file $CONF_FILE"* ]]
}

healthcheck_ok() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/healthcheck")" == 200 ]]
}

psql_admin() {
  psql "$DB_SERVER_URL/postgres" -v ON_ERROR_STOP=1 -qtAX "$@"
}

# ---------------------------------------------------------------- configuration

# The rbd stores, one line each: "id conf pool user chunk keyring" (keyring "-" for the conf's):
# those given with --rbd-store, else the test clusters' that have a ceph.conf.
# Glance connects to every rbd store while starting (glance_store's _set_url_prefix reads the
# fsid), and librados ignores Glance's rados_connect_timeout: a conf whose cluster is down makes
# glance-api hang for client_mount_timeout (300 s) before it serves anything. So a store is only
# configured if its cluster answers and has the pool now.
list_rbd_stores() {
  local store conf spec id pool user chunk keyring item
  local -a candidates=() items=()
  if ((${#RBD_STORE_SPECS[@]})); then
    for spec in "${RBD_STORE_SPECS[@]}"; do
      id=${spec%%=*} conf=${spec#*=} conf=${conf%%,*} pool=$RBD_POOL user=$RBD_USER chunk=8 keyring=-
      items=()
      if [[ $spec == *,* ]]; then IFS=, read -ra items <<<"${spec#*,}"; fi
      for item in "${items[@]}"; do
        case $item in
          pool=*) pool=${item#pool=} ;;
          user=*) user=${item#user=} ;;
          chunk=*) chunk=${item#chunk=} ;;
          keyring=*) keyring=${item#keyring=} ;;
          *) die "--rbd-store $spec: unknown option $item" ;;
        esac
      done
      candidates+=("$id $conf $pool $user $chunk $keyring")
    done
  else
    for store in a b; do
      conf="$CEPH_DIR/$store/ceph.conf"
      if [[ -f "$conf" ]]; then candidates+=("ceph_$store $conf $RBD_POOL $RBD_USER 8 -"); fi
    done
  fi
  for spec in "${candidates[@]}"; do
    read -r id conf pool user chunk keyring <<<"$spec"
    if rbd_pool_is_reachable "$conf" "$user" "$pool" "$keyring"; then
      echo "$spec"
    else
      log "WARNING: $conf: the cluster or pool '$pool' does not answer; leaving out $id"
    fi
  done
  return 0
}

rbd_pool_is_reachable() {
  timeout 30 "$SYSTEM_PYTHON" - "$1" "$2" "$3" "$4" <<'PY' >/dev/null 2>&1
import sys, rados
conf, user, pool, keyring = sys.argv[1:5]
options = {'client_mount_timeout': '10', **({} if keyring == '-' else {'keyring': keyring})}
cluster = rados.Rados(conffile=conf, rados_id=user, conf=options)
cluster.connect()
try:
    sys.exit(0 if cluster.pool_exists(pool) else 1)
finally:
    cluster.shutdown()
PY
}

write_glance_conf() {
  local rbd_stores backends="fast:file" id conf pool user chunk keyring
  rbd_stores="$(list_rbd_stores)"
  while read -r id _; do if [[ -n $id ]]; then backends+=",$id:rbd"; fi; done <<<"$rbd_stores"
  mkdir -p "$WORKDIR/staging" "$WORKDIR/tasks" "$WORKDIR/locks" "$WORKDIR/policy.d"

  cat >"$CONF_FILE" <<EOF
# Written by bench/glance/glance.sh; rewritten on every start.
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
workers = $WORKERS
enabled_backends = $backends
enabled_import_methods = [glance-direct,web-download,copy-image]
log_file = $LOG_FILE
use_stderr = false
debug = false
${GLANCE_EXTRA_DEFAULTS:-}

[paste_deploy]
config_file = $PASTE_FILE
$(paste_flavor)

[database]
connection = postgresql+psycopg2://${DB_SERVER_URL#postgresql://}/$DB_NAME
# oslo.db defaults (5 + 50 per worker) can exceed PostgreSQL's max_connections = 100.
max_pool_size = 10
max_overflow = 30

[oslo_policy]
# Our own (empty) files: otherwise oslo.policy also searches /etc/glance (policy.d/).
policy_file = $WORKDIR/policy.yaml
policy_dirs = $WORKDIR/policy.d

[oslo_concurrency]
lock_path = $WORKDIR/locks

[glance_store]
default_backend = fast

[fast]
store_description = "file store"
filesystem_store_datadir = $FILE_DIR

[os_glance_staging_store]
filesystem_store_datadir = $WORKDIR/staging

[os_glance_tasks_store]
filesystem_store_datadir = $WORKDIR/tasks
EOF
  if [[ -n $KEYSTONE_URL ]]; then write_keystone_authtoken >>"$CONF_FILE"; fi
  if [[ -n $IMPORT_FROM ]]; then
    # Loopback is refused unless named in allowed_hosts (25.1 deb12u5); ports default to 80, 443.
    # These are bounded lists in Glance: the brackets are required.
    printf '\n[import_filtering_opts]\nallowed_hosts = [%s]\nallowed_ports = [%s]\n' "${IMPORT_FROM%:*}" "${IMPORT_FROM##*:}" >>"$CONF_FILE"
  fi
  while read -r id conf pool user chunk keyring; do
    [[ -n $id ]] || continue
    cat >>"$CONF_FILE" <<EOF

[$id]
store_description = "rbd store on $conf"
rbd_store_ceph_conf = $conf
rbd_store_user = $user
rbd_store_pool = $pool
rbd_store_chunk_size = $chunk
EOF
    if [[ $keyring != - ]]; then echo "rbd_store_keyring = $keyring" >>"$CONF_FILE"; fi
  done <<<"$rbd_stores"
  # No overrides: Glance's in-code policy defaults. Present so oslo.policy never falls back
  # to a policy file elsewhere (e.g. /etc/glance).
  # (A comment, not `{}`: oslo.policy warns on every check that JSON policy files are deprecated.)
  echo '# no overrides' >"$WORKDIR/policy.yaml"
  log "stores: $backends"
}

paste_flavor() {
  if [[ -n $KEYSTONE_URL ]]; then
    printf '%s\n' '# Selects [pipeline:glance-api-keystone]: Keystone tokens through keystonemiddleware.' 'flavor = keystone'
  else
    printf '%s\n' '# Selects [pipeline:glance-api-trusted]: trusted X-* identity headers, no Keystone.' 'flavor = trusted'
  fi
}

# As test/tempest/run.sh configures Glint: the service user glance of project service.
# auth_url without /v3: keystoneauth discovers the version, as in a stock deployment.
write_keystone_authtoken() {
  local root=${KEYSTONE_URL%/}
  root=${root%/v3}
  cat <<EOF

[keystone_authtoken]
www_authenticate_uri = $root
auth_url = $root
auth_type = password
username = glance
password = glance
project_name = service
user_domain_name = Default
project_domain_name = Default
# No memcached_servers: keystonemiddleware's in-process cache, one per worker process,
# token_cache_time = 300 s (its default).
EOF
}

# Two pipelines: the stock keystone one (as Debian's /etc/glance/glance-api-paste.ini has it)
# and the stock one minus keystonemiddleware's authtoken, plus our defaults filter before
# Glance's ContextMiddleware. [paste_deploy] flavor picks one.
write_paste_ini() {
  cat >"$PASTE_FILE" <<'EOF'
# Written by bench/glance/glance.sh. Selected with [paste_deploy] flavor = trusted or keystone.
[pipeline:glance-api-trusted]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler identitydefaults context rootapp

[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = /etc/glance/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:identitydefaults]
# glint_identity_defaults.py sits in the workdir, which is put on PYTHONPATH.
paste.filter_factory = glint_identity_defaults:filter_factory
identity_status = Confirmed
roles = admin
project_id = 00000000000000000000000000000001
user_id = 00000000000000000000000000000002

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory

[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api
EOF
}

write_identity_defaults_filter() {
  cat >"$WORKDIR/glint_identity_defaults.py" <<'EOF'
"""Paste filter: give requests without Keystone headers a default identity.

Glance's ContextMiddleware trusts X-Identity-Status/X-Roles/X-Project-Id/X-User-Id. Clients such
as glanceclient only send X-Auth-Token, so each header the client did not send is filled in here;
headers the client did send are kept (so a benchmark can still act as another project or role).
Written by bench/glance/glance.sh.
"""


# Each identity field with the WSGI keys oslo.context accepts for it (first one wins there).
ALIASES = {
    'HTTP_X_IDENTITY_STATUS': ('HTTP_X_IDENTITY_STATUS',),
    'HTTP_X_ROLES': ('HTTP_X_ROLES', 'HTTP_X_ROLE'),
    'HTTP_X_PROJECT_ID': ('HTTP_X_PROJECT_ID', 'HTTP_X_TENANT_ID', 'HTTP_X_TENANT'),
    'HTTP_X_USER_ID': ('HTTP_X_USER_ID', 'HTTP_X_USER'),
}


def filter_factory(global_conf, **local_conf):
    defaults = {
        'HTTP_X_IDENTITY_STATUS': local_conf.get('identity_status', 'Confirmed'),
        'HTTP_X_ROLES': local_conf.get('roles', 'admin'),
        'HTTP_X_PROJECT_ID': local_conf.get('project_id', 'glint-bench-project'),
        'HTTP_X_USER_ID': local_conf.get('user_id', 'glint-bench-user'),
    }

    def make_filter(app):
        def identity_defaults(environ, start_response):
            for key, value in defaults.items():
                if not any(environ.get(alias) for alias in ALIASES[key]):
                    environ[key] = value
            return app(environ, start_response)
        return identity_defaults
    return make_filter
EOF
}

# ---------------------------------------------------------------- database

ensure_database() {
  psql_admin -c 'SELECT 1' >/dev/null 2>&1 ||
    die "cannot reach PostgreSQL as $DB_SERVER_URL (set GLANCE_DB_URL)"
  if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
    log "creating database $DB_NAME"
    psql_admin -c "CREATE DATABASE \"$DB_NAME\""
  fi
  # db_sync once: a database with Glance's alembic version row is already migrated.
  local version
  version="$(psql "$DB_SERVER_URL/$DB_NAME" -qtAX -c 'SELECT version_num FROM alembic_version' 2>/dev/null || true)"
  if [[ -z "$version" ]]; then
    log "running glance-manage db_sync on $DB_NAME (takes a while)"
    "$GLANCE_MANAGE_BIN" --config-file "$CONF_FILE" db_sync >"$WORKDIR/db_sync.log" 2>&1 ||
      die "db_sync failed, see $WORKDIR/db_sync.log"
    version="$(psql "$DB_SERVER_URL/$DB_NAME" -qtAX -c 'SELECT version_num FROM alembic_version')"
  fi
  log "database $DB_NAME at schema $version"
}

# ---------------------------------------------------------------- start / stop / status

start_glance() {
  [[ -x "$GLANCE_API_BIN" ]] || die "$GLANCE_API_BIN missing; run: $0 install"
  local pid
  if pid="$(read_our_pid)"; then
    if healthcheck_ok; then
      log "already running (pid $pid)"
      echo "$BASE_URL"
      return 0
    fi
    die "glance-api pid $pid is running but $BASE_URL/healthcheck does not answer 200; run stop first"
  fi
  rm -f "$PID_FILE"
  if port_is_listening "$PORT"; then
    die "port $PORT is already taken by something else: $(describe_listener "$PORT")"
  fi

  write_glance_conf
  write_paste_ini
  write_identity_defaults_filter
  ensure_database

  log "starting $GLANCE_API_BIN on port $PORT with $WORKERS workers (log: $LOG_FILE)"
  # setsid: own session, so the harness's Ctrl-C / job control does not reach it and it
  # outlives this script. PYTHONPATH: our paste filter module.
  PYTHONPATH="$WORKDIR${PYTHONPATH:+:$PYTHONPATH}" \
    setsid "$GLANCE_API_BIN" --config-file "$CONF_FILE" \
    </dev/null >>"$CONSOLE_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"

  wait_until_healthy "$pid"
  log "running (pid $pid)"
  echo "$BASE_URL"
}

wait_until_healthy() {
  local pid="$1" deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 20 "$CONSOLE_LOG" "$LOG_FILE" >&2 2>/dev/null || true
      die "glance-api exited during start-up; see $LOG_FILE and $CONSOLE_LOG"
    fi
    healthcheck_ok && return 0
    sleep 0.5
  done
  log "no 200 from $BASE_URL/healthcheck within ${HEALTH_TIMEOUT_S}s; stopping it"
  stop_glance
  die "glance-api did not become healthy; see $LOG_FILE"
}

stop_glance() {
  local pid
  if ! pid="$(read_our_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  # The master forks the workers; it stops them on SIGTERM, but remember them in case.
  local workers p
  workers="$(list_child_pids "$pid")"
  log "stopping glance-api pid $pid (workers: ${workers:-none})"
  kill -TERM "$pid" 2>/dev/null || true
  for p in $pid $workers; do
    wait_for_exit "$p" "$STOP_GRACE_S" && continue
    # Re-check identity before SIGKILL: the pid could have been reused meanwhile.
    if pid_is_our_glance "$p"; then
      log "pid $p still alive after ${STOP_GRACE_S}s; SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
      wait_for_exit "$p" 5 || die "pid $p did not exit after SIGKILL"
    fi
  done
  rm -f "$PID_FILE"
  log "stopped"
}

list_child_pids() {
  local stat fields state ppid
  for stat in /proc/[0-9]*/stat; do
    fields="$(cat "$stat" 2>/dev/null)" || continue
    # "pid (comm) state ppid ...": comm may contain spaces, so cut after the last ')'.
    read -r state ppid _ <<<"${fields##*) }"
    if [[ "$ppid" == "$1" && "$state" != Z ]]; then echo "${fields%% *}"; fi
  done | xargs
}

# A process counts as gone once it no longer exists or is a zombie.
wait_for_exit() {
  local pid="$1" deadline=$((SECONDS + $2)) state
  while ((SECONDS < deadline)); do
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ -z "$state" || "$state" == Z ]] && return 0
    sleep 0.2
  done
  return 1
}

status_glance() {
  local pid
  if pid="$(read_our_pid)"; then
    if healthcheck_ok; then
      echo "running pid=$pid url=$BASE_URL workdir=$WORKDIR"
      return 0
    fi
    echo "unhealthy pid=$pid url=$BASE_URL workdir=$WORKDIR"
    return 1
  fi
  echo "stopped workdir=$WORKDIR"
  return 3
}

main() {
  local command="${1:-}"
  (($#)) && shift
  case "$command" in
    install) install_glance ;;
    start) PORT_GIVEN=1; parse_options "$@"; start_glance ;;
    stop) parse_options "$@"; stop_glance ;;
    status) parse_options "$@"; status_glance ;;
    -h|--help|help) usage 0 ;;
    *) usage ;;
  esac
}

main "$@"
