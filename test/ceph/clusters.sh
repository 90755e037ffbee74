#!/usr/bin/env bash
# Two independent mini Ceph clusters on loopback for Glint's tests and benchmarks.
#
#   test/ceph/clusters.sh up [a|b]      boot (idempotent); exit 0 once pool `images` is usable
#   test/ceph/clusters.sh down [a|b]    stop the daemons and delete the cluster dirs
#   test/ceph/clusters.sh stop a|b      stop one cluster's daemons, keep its data
#   test/ceph/clusters.sh start a|b     start a stopped cluster again (same data)
#   test/ceph/clusters.sh stop-osd a|b [ID]   stop one OSD (default osd.0), the rest keeps running
#   test/ceph/clusters.sh start-osd a|b [ID]  start it again; exit 0 once the pool is usable
#   test/ceph/clusters.sh status [a|b]  one line per cluster: name dir fsid up|down
#   test/ceph/clusters.sh env [a|b]     shell exports: GLINT_CEPH_A_CONF=..., GLINT_CEPH_B_CONF=...
#
# Each cluster is 1 mon + 1 mgr + GLINT_CEPH_OSDS bluestore OSDs (sparse files), bound to
# 127.0.0.1 only, with everything (conf, keys, data, logs, pid files, sockets) in
# $GLINT_CEPH_DIR/<name>.
# Environment: GLINT_CEPH_DIR (default /tmp/glint-ceph), GLINT_CEPH_STORE_GB (per OSD, default 12),
# GLINT_CEPH_PORT_BASE (cluster a's ports, b's are 100 higher; default 16300), GLINT_CEPH_OSDS
# (OSDs per cluster when it is built, default 1). A second pair beside the first, e.g.:
#   GLINT_CEPH_DIR=/tmp/glint-ceph2 GLINT_CEPH_PORT_BASE=16500 GLINT_CEPH_OSDS=2 test/ceph/clusters.sh up
# Background and measurements: /work/shared/reference/ceph-test-clusters.md.
set -Eeuo pipefail

CEPH_ROOT=$(realpath -m -- "${GLINT_CEPH_DIR:-/tmp/glint-ceph}")
STORE_GB=${GLINT_CEPH_STORE_GB:-12}
BASE_PORT=${GLINT_CEPH_PORT_BASE:-16300}
OSDS=${GLINT_CEPH_OSDS:-1}
readonly CEPH_ROOT STORE_GB BASE_PORT OSDS
readonly ALL_CLUSTERS=(a b)
# Ports base..base+99 belong to one cluster: mon on base (v2) and base+1 (v1), mgr/OSD in
# base+10..base+99. Both ranges sit below the kernel's ephemeral range (32768+).
declare -rA PORT_BASE=([a]=$BASE_PORT [b]=$((BASE_PORT + 100)))
readonly POOL=images
readonly CONF_MARKER='# Written by test/ceph/clusters.sh'
# The ports are fixed per port base, so only one run per port base may change clusters at a time.
if ((BASE_PORT == 16300)); then readonly LOCK_FILE=/tmp/glint-ceph-clusters.lock; else readonly LOCK_FILE=/tmp/glint-ceph-clusters-$BASE_PORT.lock; fi
readonly CLI_TIMEOUT=20      # seconds; a ceph/rbd call against a dead cluster would block ~300 s
readonly STOP_GRACE=10       # seconds between SIGTERM and SIGKILL

# Per-cluster context, set by use_cluster inside that cluster's subshell.
NAME='' DIR='' CONF='' PORT='' SETUP_LOG='' T0_US=0 STEP='' OSD_COUNT=1
STARTED=()                   # daemons this run started: a failed run stops exactly those

say() { printf '%s: %s\n' "${NAME:-clusters.sh}" "$*" >&2; }
die() { say "$*"; exit 1; }

now_us() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$t"; }
elapsed() {
	local us=$(($(now_us) - T0_US))
	printf '%d.%ds' $((us / 1000000)) $((us / 100000 % 10))
}

use_cluster() {
	NAME=$1
	DIR=$CEPH_ROOT/$NAME
	CONF=$DIR/ceph.conf
	PORT=${PORT_BASE[$NAME]}
	SETUP_LOG=$DIR/log/setup.log
	T0_US=$(now_us)
	STARTED=()
	# a built cluster keeps the OSD count it was built with
	OSD_COUNT=$OSDS
	if [[ -f $DIR/.built ]]; then OSD_COUNT=$(find "$DIR" -maxdepth 1 -name 'osd.*' -type d | wc -l); fi
}

osd_ids() { seq 0 $((OSD_COUNT - 1)); }

ceph_cli() { timeout -k 3 "$CLI_TIMEOUT" ceph -c "$CONF" --connect-timeout 10 "$@"; }
rbd_cli() { timeout -k 3 "$CLI_TIMEOUT" rbd -c "$CONF" "$@"; }

# Run a setup step with its chatter going to the cluster's setup log (shown if the run fails).
quietly() {
	STEP=$*
	printf '+ [%s] %s\n' "$(elapsed)" "$STEP" >>"$SETUP_LOG"
	"$@" >>"$SETUP_LOG" 2>&1
}

# Retry "$@" every 0.5 s until it succeeds; fail after $2 seconds.
wait_for() {
	local what=$1 seconds=$2
	shift 2
	local deadline=$(($(now_us) + seconds * 1000000))
	until "$@"; do
		if (($(now_us) > deadline)); then
			say "gave up after ${seconds}s waiting for $what"
			return 1
		fi
		sleep 0.5
	done
	if [[ -d ${SETUP_LOG%/*} ]]; then printf '= [%s] %s\n' "$(elapsed)" "$what" >>"$SETUP_LOG"; fi
}

# ---------------------------------------------------------------- daemons and pid files

daemon_names() { # the stop order
	local id
	for id in $(osd_ids); do printf 'osd.%s\n' "$id"; done
	printf '%s\n' "mgr.$NAME" "mon.$NAME"
}

# True if PID is alive and was started with this cluster's conf (guards against reused pids).
pid_runs_this_cluster() {
	local pid=$1 arg
	[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
	{
		while IFS= read -r -d '' arg; do
			[[ $arg == "$CONF" ]] && return 0
		done </proc/"$pid"/cmdline
	} 2>/dev/null # the process may exit while we read
	return 1      # also the case for zombies: their cmdline is empty
}

# Prints the pid of a running daemon of this cluster, from its pid file.
daemon_pid() {
	local pidfile=$DIR/run/$1.pid pid
	[[ -r $pidfile ]] || return 1
	read -r pid <"$pidfile" || return 1
	pid_runs_this_cluster "$pid" || return 1
	printf '%s' "$pid"
}

all_daemons_running() {
	local d
	for d in $(daemon_names); do daemon_pid "$d" >/dev/null || return 1; done
}

process_gone() { ! pid_runs_this_cluster "$1"; }

stop_daemon() {
	local daemon=$1 pid
	if pid=$(daemon_pid "$daemon"); then
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_for "$daemon (pid $pid) to exit" "$STOP_GRACE" process_gone "$pid" 2>/dev/null; then
			say "$daemon (pid $pid) ignored SIGTERM for ${STOP_GRACE}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			wait_for "$daemon (pid $pid) to die" 5 process_gone "$pid"
		fi
	fi
	# The mgr and OSD leave these behind.
	rm -f "$DIR/run/$daemon.pid" "$DIR/run/$daemon.asok"
}

# OSD first, while the mon can still take its "going down" message (else ~7 s instead of <1 s).
stop_all_daemons() {
	local d
	for d in $(daemon_names); do stop_daemon "$d"; done
}

# Processes started with this conf but not reachable through a pid file (we never kill those).
stray_pids() {
	local p pids=()
	for p in /proc/[0-9]*; do
		pid_runs_this_cluster "${p#/proc/}" && pids+=("${p#/proc/}")
	done
	((${#pids[@]})) && printf '%s\n' "${pids[*]}"
	return 0
}

ensure_no_strays() {
	local strays
	strays=$(stray_pids)
	[[ -z $strays ]] || die "processes still use $CONF without a pid file: $strays (stop them by pid)"
}

# Start a daemon; it daemonizes and writes DIR/run/<name>.pid. Its stdio goes to the setup log
# (a daemon holding our stdout would hang `$(clusters.sh up)`), and fd 9 (our lock) is closed so
# the daemon does not keep the lock for its whole life.
launch_daemon() {
	local daemon=$1
	shift
	STARTED+=("$daemon")
	STEP=$*
	printf '+ [%s] %s\n' "$(elapsed)" "$STEP" >>"$SETUP_LOG"
	"$@" </dev/null >>"$SETUP_LOG" 2>&1 9>&-
}

stop_daemons_started_by_this_run() {
	local d
	for d in $(daemon_names); do
		if [[ " ${STARTED[*]} " == *" $d "* ]]; then stop_daemon "$d"; fi
	done
	STARTED=()
}

# ERR trap: say where it failed and show the end of the setup log; the EXIT trap cleans up.
on_cluster_error() {
	local rc=$? line=$1 cmd=$2 where
	trap - ERR
	[[ $cmd != '"$@"'* ]] || cmd=$STEP # it failed inside quietly/launch_daemon: name the step
	where=$(IFS='<' && echo "${FUNCNAME[*]:1:3}")
	say "FAILED (exit $rc) at line $line in ${where//</ < }: $cmd"
	if [[ -s $SETUP_LOG ]]; then
		grep -v '^$' "$SETUP_LOG" | tail -n 6 | sed -e 's/\x1b\[[0-9;]*m//g' -e "s/^/$NAME:   | /" >&2
	fi
	exit "$rc"
}

# EXIT trap: a failed or interrupted run (ERR, die, SIGTERM) stops the daemons it started.
on_cluster_exit() {
	local rc=$?
	trap - ERR EXIT
	if ((rc != 0 && ${#STARTED[@]} > 0)); then
		stop_daemons_started_by_this_run || true
		say "stopped the daemons this run started; logs kept in $DIR/log"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- health checks

mon_answers() { ceph_cli mon stat >/dev/null 2>&1; }

osds_are_up() {
	local dump id
	dump=$(ceph_cli osd dump 2>/dev/null) || return 1
	for id in $(osd_ids); do
		[[ $dump =~ (^|$'\n')osd\.$id\ up\  ]] || return 1
	done
}

# All PGs active+clean, counted against the pools' pg_num from the mon: right after a restart
# or a pool create the mgr can report "N pgs: N active+clean" while it still misses PGs.
all_pgs_active_clean() {
	local detail stat expected
	detail=$(ceph_cli osd pool ls detail 2>/dev/null) || return 1
	expected=$(awk '{ for (i = 1; i < NF; i++) if ($i == "pg_num") n += $(i + 1) } END { print n + 0 }' <<<"$detail")
	stat=$(ceph_cli pg stat 2>/dev/null) || return 1
	[[ $stat =~ ^([0-9]+)\ pgs:\ ([0-9]+)\ active\+clean\; ]] || return 1
	((expected > 0 && BASH_REMATCH[1] == expected && BASH_REMATCH[2] == expected))
}

# The real test: an image can be created and removed in the pool.
probe_image_roundtrip() {
	local probe=$POOL/glint-probe-$NAME-$$-$RANDOM
	rbd_cli create --size 1M "$probe" >/dev/null 2>&1 || return 1
	rbd_cli rm --no-progress "$probe" >/dev/null 2>&1
}

pool_is_usable() { all_pgs_active_clean && probe_image_roundtrip; }

health_is_ok() { [[ $(ceph_cli health 2>/dev/null) == HEALTH_OK ]]; }

# Not fatal: the pool works; a warning (e.g. low disk on a shared box) is only reported.
report_health() {
	if ! wait_for "HEALTH_OK" 30 health_is_ok 2>/dev/null; then
		say "warning: $(ceph_cli health 2>&1 | head -n 1)"
	fi
}

# ---------------------------------------------------------------- building a cluster

port_is_listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

ensure_mon_ports_free() {
	local p
	for p in "$PORT" $((PORT + 1)); do
		! port_is_listening "$p" || die "port $p is already in use (another cluster or program?)"
	done
}

# Only ever delete a dir this script made (its conf carries our marker) or an empty one.
wipe_cluster_dir() {
	[[ -e $DIR ]] || return 0
	if [[ -f $CONF ]] && grep -qxF "$CONF_MARKER" "$CONF"; then
		rm -rf -- "$DIR"
	else
		rmdir -- "$DIR" 2>/dev/null || die "refusing to delete $DIR: it was not made by clusters.sh"
	fi
}

write_conf() {
	local fsid=$1
	cat >"$CONF" <<EOF
$CONF_MARKER
# Glint test cluster "$NAME": 1 mon + 1 mgr + $OSD_COUNT bluestore OSD(s) on 127.0.0.1, all state in $DIR.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$PORT,v1:127.0.0.1:$((PORT + 1))]
mon initial members = $NAME
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
ms bind ipv6 = false
# a private OSD/mgr port range, so the two clusters never compete for ports
ms bind port min = $((PORT + 10))
ms bind port max = $((PORT + 99))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = $DIR/run
crash dir = $DIR/crash
tmp dir = $DIR/tmp
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 32
osd pool default pgp num = 32
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on pool pg num not power of two = false
mon warn on osd down out interval zero = false
# the disk is shared with everything else on the box; the default 30 % gives MON_DISK_LOW
mon data avail warn = 2
mon data avail crit = 1
mon osd nearfull ratio = 0.90
mon osd full ratio = 0.97

[mon]
mon data = $DIR/mon.\$id
keyring = $DIR/mon.\$id/keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
# each map commit (pool create, OSD boot, rbd pool init) waits this long; default 1 s
paxos propose interval = 0.1

[mgr]
mgr data = $DIR/mgr.\$id
keyring = $DIR/mgr.\$id/keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mgr initial modules =

[osd]
osd data = $DIR/osd.\$id
keyring = $DIR/osd.\$id/keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
osd objectstore = bluestore
# mkfs creates osd.N/block as a sparse file; setting "bluestore block path" to it loops (ELOOP)
bluestore block create = true
bluestore block size = $((STORE_GB * 1024 * 1024 * 1024))
osd memory target = 1073741824

[client]
# lets every client (ceph, rbd, librados) find the admin key from this file alone
keyring = $DIR/ceph.client.admin.keyring
# one shared file; a per-pid name leaves one empty file per CLI call
log file = $DIR/log/client.log
EOF
}

create_keyrings() {
	quietly ceph-authtool --create-keyring "$DIR/tmp/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
	quietly ceph-authtool --create-keyring "$DIR/ceph.client.admin.keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
	quietly ceph-authtool "$DIR/tmp/mon.keyring" --import-keyring "$DIR/ceph.client.admin.keyring"
}

create_mon() {
	local fsid=$1
	quietly monmaptool --create --clobber --fsid "$fsid" \
		--addv "$NAME" "[v2:127.0.0.1:$PORT,v1:127.0.0.1:$((PORT + 1))]" \
		--enable-all-features "$DIR/tmp/monmap"
	quietly ceph-mon -c "$CONF" --mkfs -i "$NAME" --monmap "$DIR/tmp/monmap" --keyring "$DIR/tmp/mon.keyring"
	# ceph-mon --mkfs exits 0 even when it refused to do anything
	[[ -s $DIR/mon.$NAME/keyring ]] || die "ceph-mon --mkfs did not create mon.$NAME/keyring"
}

start_mon() {
	launch_daemon "mon.$NAME" ceph-mon -c "$CONF" -i "$NAME"
	wait_for "the mon to answer" 30 mon_answers
}

create_mgr() {
	quietly ceph_cli auth get-or-create "mgr.$NAME" mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
		-o "$DIR/mgr.$NAME/keyring"
}

# Without a mgr there are no PG stats, and health turns to HEALTH_ERR after 120 s.
start_mgr() { launch_daemon "mgr.$NAME" ceph-mgr -c "$CONF" -i "$NAME"; }

create_osd() {
	local want=$1 uuid key id
	uuid=$(uuidgen)
	key=$(ceph-authtool --gen-print-key)
	printf '[osd.%s]\n\tkey = %s\n' "$want" "$key" >"$DIR/osd.$want/keyring"
	printf '{"cephx_secret": "%s"}\n' "$key" >"$DIR/tmp/osd-secret.json"
	# registers the OSD and its key (osd profile) in one call
	id=$(ceph_cli osd new "$uuid" -i "$DIR/tmp/osd-secret.json" 2>>"$SETUP_LOG")
	rm -f "$DIR/tmp/osd-secret.json"
	[[ $id == "$want" ]] || die "ceph osd new returned id '$id', expected $want"
	quietly ceph-osd -c "$CONF" -i "$want" --mkfs --osd-uuid "$uuid"
}

start_osds() {
	local id
	for id in $(osd_ids); do launch_daemon "osd.$id" ceph-osd -c "$CONF" -i "$id"; done
	wait_for "$OSD_COUNT OSD(s) to be up" 60 osds_are_up
}

create_pool() {
	quietly ceph_cli osd pool create "$POOL" 32 32 replicated
	local size
	size=$(ceph_cli osd pool get "$POOL" size 2>>"$SETUP_LOG")
	[[ $size == "size: 1" ]] || die "pool $POOL has '$size', expected size 1"
	quietly timeout -k 3 60 rbd -c "$CONF" pool init "$POOL"
}

warn_if_disk_is_short() {
	local avail_kb
	avail_kb=$(df -Pk "$CEPH_ROOT" | awk 'NR == 2 { print $4 }')
	((avail_kb / 1024 / 1024 >= STORE_GB * OSD_COUNT)) ||
		say "warning: only $((avail_kb / 1024 / 1024)) GiB free under $CEPH_ROOT; the $OSD_COUNT OSD file(s) can grow to ${STORE_GB} GiB each"
}

build_cluster() {
	local fsid id
	fsid=$(uuidgen)
	ensure_mon_ports_free
	mkdir -p "$DIR"
	write_conf "$fsid" # first, so a half-built dir is still recognisably ours
	mkdir -p "$DIR"/{run,log,crash,tmp,"mon.$NAME","mgr.$NAME"}
	for id in $(osd_ids); do mkdir -p "$DIR/osd.$id"; done
	install -m 0666 /dev/null "$DIR/log/client.log" # clients of any user may log here
	warn_if_disk_is_short
	create_keyrings
	create_mon "$fsid"
	start_mon
	create_mgr
	start_mgr
	for id in $(osd_ids); do create_osd "$id"; done
	start_osds
	create_pool
	touch "$DIR/.built" # from here on, `start` may bring this dir back
	wait_for "pool $POOL to be usable with all PGs active+clean" 120 pool_is_usable
	say "built in $(elapsed): pool $POOL usable, fsid $fsid"
	report_health
}

# ---------------------------------------------------------------- per-cluster commands
# Each runs in its own subshell (see for_clusters), with use_cluster already done.

cluster_up() {
	if [[ -f $DIR/.built ]] && all_daemons_running; then
		# also covers a cluster that was just started and is still peering
		if wait_for "pool $POOL to be usable" 30 pool_is_usable 2>/dev/null; then
			say "already up ($(elapsed))"
			return 0
		fi
		say "running but pool $POOL is not usable; rebuilding"
	elif [[ -e $DIR ]]; then
		say "not running (stopped, crashed or half-built); wiping and rebuilding"
	fi
	stop_all_daemons
	ensure_no_strays
	wipe_cluster_dir
	build_cluster
}

cluster_start() {
	[[ -f $DIR/.built ]] || die "$DIR is not a built cluster; run: $0 up $NAME"
	if all_daemons_running; then
		say "already running"
	else
		stop_all_daemons # leftovers of a partial stop or crash
		ensure_no_strays
		ensure_mon_ports_free
		start_mon
		start_mgr
		start_osds
	fi
	wait_for "pool $POOL to be usable with all PGs active+clean" 120 pool_is_usable
	say "started in $(elapsed): pool $POOL usable"
	report_health
}

cluster_stop() {
	if [[ ! -d $DIR ]]; then
		say "no cluster in $DIR"
		return 0
	fi
	stop_all_daemons
	ensure_no_strays
	say "stopped in $(elapsed); data kept in $DIR"
}

# One OSD alone (an OSD failure, not a cluster outage); OSD_ID is set by main.
cluster_stop_osd() {
	[[ -f $DIR/.built ]] || die "$DIR is not a built cluster; run: $0 up $NAME"
	((OSD_ID < OSD_COUNT)) || die "$NAME has no osd.$OSD_ID (it has $OSD_COUNT)"
	stop_daemon "osd.$OSD_ID"
	say "osd.$OSD_ID stopped in $(elapsed); data kept"
}

cluster_start_osd() {
	[[ -f $DIR/.built ]] || die "$DIR is not a built cluster; run: $0 up $NAME"
	((OSD_ID < OSD_COUNT)) || die "$NAME has no osd.$OSD_ID (it has $OSD_COUNT)"
	daemon_pid "mon.$NAME" >/dev/null || die "the mon of $NAME is not running; run: $0 start $NAME"
	if daemon_pid "osd.$OSD_ID" >/dev/null; then
		say "osd.$OSD_ID already running"
	else
		launch_daemon "osd.$OSD_ID" ceph-osd -c "$CONF" -i "$OSD_ID"
	fi
	wait_for "the OSDs to be up" 60 osds_are_up
	wait_for "pool $POOL to be usable with all PGs active+clean" 120 pool_is_usable
	say "osd.$OSD_ID started in $(elapsed): pool $POOL usable"
}

cluster_down() {
	if [[ ! -e $DIR ]]; then
		say "nothing in $DIR"
		return 0
	fi
	stop_all_daemons
	ensure_no_strays
	wipe_cluster_dir
	say "down and removed in $(elapsed)"
}

cluster_status() {
	local fsid=- state=down
	if [[ -r $CONF ]]; then fsid=$(awk '$1 == "fsid" { print $3 }' "$CONF"); fi
	if all_daemons_running; then state=up; fi
	printf '%s %s %s %s\n' "$NAME" "$DIR" "${fsid:--}" "$state"
}

cluster_env() {
	printf 'export GLINT_CEPH_%s_CONF=%q\n' "${NAME^^}" "$CONF"
}

# ---------------------------------------------------------------- driver

CHILD_PIDS=()

# Run a per-cluster command for each named cluster in parallel; fail if any of them failed.
for_clusters() {
	local fn=$1 name i failed=()
	shift
	trap 'kill -TERM "${CHILD_PIDS[@]}" 2>/dev/null; wait; exit 130' INT TERM
	for name in "$@"; do
		(
			use_cluster "$name"
			trap 'on_cluster_error "$LINENO" "$BASH_COMMAND"' ERR
			trap on_cluster_exit EXIT
			trap 'say interrupted; exit 130' TERM
			"$fn"
		) &
		CHILD_PIDS+=($!)
	done
	for i in "${!CHILD_PIDS[@]}"; do
		wait "${CHILD_PIDS[$i]}" || failed+=("${@:i+1:1}")
	done
	CHILD_PIDS=()
	trap - INT TERM
	((${#failed[@]} == 0)) || die "${fn#cluster_} failed for: ${failed[*]}"
}

# Sequential and in order, so the output lines come out in cluster order.
for_clusters_in_order() {
	local fn=$1 name
	shift
	for name in "$@"; do (use_cluster "$name" && "$fn"); done
}

take_lock() {
	exec 9>>"$LOCK_FILE"
	if ! flock -n 9; then
		say "waiting for another clusters.sh run to finish"
		flock -w 900 9 || die "timed out waiting for $LOCK_FILE"
	fi
}

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

require_ceph() {
	local tool
	for tool in ceph ceph-mon ceph-mgr ceph-osd ceph-authtool monmaptool rbd uuidgen flock; do
		command -v "$tool" >/dev/null || die "$tool not found (apt-get install ceph-mon ceph-mgr ceph-osd ceph-common uuid-runtime)"
	done
}

OSD_ID=0

main() {
	local cmd=${1:-} clusters
	if [[ $cmd == stop-osd || $cmd == start-osd ]] && (($# == 3)); then
		[[ $3 =~ ^[0-7]$ ]] || die "an OSD id is 0 to 7, not '$3'"
		OSD_ID=$3
		set -- "$1" "$2"
	fi
	(($# <= 2)) || usage
	case ${2:-} in
	'') clusters=("${ALL_CLUSTERS[@]}") ;;
	a | b) clusters=("$2") ;;
	*) usage ;;
	esac
	[[ $STORE_GB =~ ^[1-9][0-9]*$ ]] || die "GLINT_CEPH_STORE_GB must be a whole number of GiB, not '$STORE_GB'"
	[[ $OSDS =~ ^[1-8]$ ]] || die "GLINT_CEPH_OSDS must be 1 to 8, not '$OSDS'"
	[[ $BASE_PORT =~ ^[1-9][0-9]*$ ]] && ((BASE_PORT >= 1024 && BASE_PORT + 199 < 32768)) ||
		die "GLINT_CEPH_PORT_BASE must leave base..base+199 between 1024 and 32767 (below the ephemeral range), not '$BASE_PORT'"
	case $cmd in
	up | down | start | stop | stop-osd | start-osd)
		[[ $cmd == up || $cmd == down ]] || (($# == 2)) || usage
		require_ceph
		take_lock
		for_clusters "cluster_${cmd//-/_}" "${clusters[@]}"
		if [[ $cmd == down ]]; then rmdir -- "$CEPH_ROOT" 2>/dev/null || true; fi
		;;
	status) for_clusters_in_order cluster_status "${clusters[@]}" ;;
	env) for_clusters_in_order cluster_env "${clusters[@]}" ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
