#!/usr/bin/env bash
# Smoke test of a Glance (or Glint) started by bench/glance/glance.sh: round-trips 64 MiB through
# every store it advertises, checks sha512 against os_hash_value, lists, deletes, and runs the
# real glanceclient. For rbd stores it also checks the image and its protected snapshot `snap`
# with the rbd CLI.
#
#   smoke.sh [URL]        default http://127.0.0.1:9393
#
# Environment: GLINT_CEPH_DIR (default /tmp/glint-ceph), SMOKE_MIB (default 64).
set -euo pipefail

readonly SYSTEM_PYTHON=/usr/bin/python3
URL="${1:-http://127.0.0.1:9393}"
CEPH_DIR="${GLINT_CEPH_DIR:-/tmp/glint-ceph}"
SIZE_MIB="${SMOKE_MIB:-64}"
IDENTITY=(-H 'X-Identity-Status: Confirmed' -H 'X-Roles: admin'
          -H 'X-Project-Id: glint-smoke-project' -H 'X-User-Id: glint-smoke-user')
TMP="$(mktemp -d /tmp/glance-smoke.XXXXXX)"
CREATED_IDS=()
FAILURES=0

log() { printf 'smoke: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { log "ok: $*"; }

cleanup() {
  local id
  for id in "${CREATED_IDS[@]}"; do
    curl -s -o /dev/null "${IDENTITY[@]}" -X DELETE "$URL/v2/images/$id" || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

json_field() {   # json_field FILE KEY
  "$SYSTEM_PYTHON" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

list_store_ids() {
  curl -sf "${IDENTITY[@]}" "$URL/v2/info/stores" |
    "$SYSTEM_PYTHON" -c 'import json,sys; print("\n".join(s["id"] for s in json.load(sys.stdin)["stores"]))'
}

# Functions below report through fail/pass and set IMAGE_ID; they are not run in $(...)
# subshells, so that FAILURES counts.
create_image() {   # create_image NAME -> IMAGE_ID
  local code
  code="$(curl -s -o "$TMP/create.json" -w '%{http_code}' "${IDENTITY[@]}" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}" "$URL/v2/images")"
  [[ "$code" == 201 ]] || { fail "POST /v2/images gave $code: $(cat "$TMP/create.json")"; return 1; }
  IMAGE_ID="$(json_field "$TMP/create.json" id)"
  CREATED_IDS+=("$IMAGE_ID")
}

# Upload the test data to STORE, download it, compare hashes -> IMAGE_ID.
round_trip_store() {
  local store="$1" id code started elapsed
  create_image "smoke-$store" || return 1
  id="$IMAGE_ID"
  started=$(date +%s.%N)
  code="$(curl -s -o "$TMP/put.out" -w '%{http_code}' "${IDENTITY[@]}" \
    -H 'Content-Type: application/octet-stream' -H "X-Image-Meta-Store: $store" \
    -T "$TMP/data.bin" "$URL/v2/images/$id/file")"
  elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
  [[ "$code" == 204 ]] || { fail "$store: PUT file gave $code: $(cat "$TMP/put.out")"; return 1; }
  curl -sf "${IDENTITY[@]}" "$URL/v2/images/$id" >"$TMP/image.json"
  local status stores hash size
  status="$(json_field "$TMP/image.json" status)"
  stores="$(json_field "$TMP/image.json" stores)"
  hash="$(json_field "$TMP/image.json" os_hash_value)"
  size="$(json_field "$TMP/image.json" size)"
  [[ "$status" == active && "$stores" == "$store" ]] ||
    fail "$store: image $id status=$status stores=$stores"
  [[ "$hash" == "$DATA_SHA512" ]] || fail "$store: os_hash_value $hash != sha512 of the data"
  [[ "$size" == "$DATA_SIZE" ]] || fail "$store: size $size != $DATA_SIZE"
  curl -sf "${IDENTITY[@]}" -o "$TMP/down.bin" "$URL/v2/images/$id/file" ||
    fail "$store: download failed"
  [[ "$(sha512sum <"$TMP/down.bin" | cut -d' ' -f1)" == "$hash" ]] ||
    fail "$store: downloaded data does not match os_hash_value"
  pass "$store: ${SIZE_MIB} MiB up in ${elapsed}s, active, sha512 = os_hash_value, download identical (image $id)"
}

check_rbd_image() {   # check_rbd_image STORE ID
  local conf="$CEPH_DIR/${1#ceph_}/ceph.conf"
  if ! rbd -c "$conf" info "images/$2" >"$TMP/rbd-info.txt" 2>&1; then
    fail "$1: rbd info images/$2: $(cat "$TMP/rbd-info.txt")"
    return
  fi
  grep -q "size $SIZE_MIB MiB" "$TMP/rbd-info.txt" ||
    fail "$1: rbd image size is not $SIZE_MIB MiB: $(grep size "$TMP/rbd-info.txt")"
  if rbd -c "$conf" info "images/$2@snap" 2>/dev/null | grep -q 'protected: True'; then
    pass "$1: rbd images/$2 exists ($(grep -m1 -o 'size [0-9]* [A-Za-z]*' "$TMP/rbd-info.txt")), snap 'snap' protected"
  else
    fail "$1: no protected snapshot 'snap' on images/$2"
  fi
}

check_list_and_delete() {
  local id="$1" code
  curl -sf "${IDENTITY[@]}" "$URL/v2/images?limit=200" >"$TMP/list.json"
  if grep -q "\"$id\"" "$TMP/list.json"; then pass "image list contains $id"; else fail "image list lacks $id"; fi
  code="$(curl -s -o /dev/null -w '%{http_code}' "${IDENTITY[@]}" -X DELETE "$URL/v2/images/$id")"
  [[ "$code" == 204 ]] || fail "DELETE gave $code"
  code="$(curl -s -o /dev/null -w '%{http_code}' "${IDENTITY[@]}" "$URL/v2/images/$id")"
  if [[ "$code" == 404 ]]; then pass "deleted $id (GET now 404)"; else fail "GET after delete gave $code"; fi
}

# glanceclient sends only X-Auth-Token: the identity comes from the server's defaults filter.
# OS_IMAGE_API_VERSION=2 avoids the cached-schema crash (reference P1); <&- stops it from
# uploading stdin (P2). `python3 -m glanceclient.shell` is a silent no-op, so use /usr/bin/glance.
check_glanceclient() {
  local glance=(/usr/bin/glance --os-image-url "$URL" --os-auth-token noauth) id
  export OS_IMAGE_API_VERSION=2
  head -c 1048576 /dev/urandom >"$TMP/small.bin"
  "${glance[@]}" image-create --name smoke-glanceclient --disk-format raw --container-format bare \
    --file "$TMP/small.bin" <&- >"$TMP/gc-create.txt" || { fail "glance image-create"; return; }
  id="$(awk '$2 == "id" {print $4}' "$TMP/gc-create.txt")"
  CREATED_IDS+=("$id")
  "${glance[@]}" image-list <&- >"$TMP/gc-list.txt" || { fail "glance image-list"; return; }
  grep -q "$id" "$TMP/gc-list.txt" || fail "glance image-list lacks $id"
  "${glance[@]}" image-download --file "$TMP/gc-down.bin" "$id" <&- || fail "glance image-download"
  cmp -s "$TMP/small.bin" "$TMP/gc-down.bin" || fail "glance image-download data differs"
  "${glance[@]}" image-delete "$id" <&- || fail "glance image-delete"
  pass "glanceclient: image-create/list/download/delete ($(grep -c '^| [0-9a-f]\{8\}-' "$TMP/gc-list.txt") images listed)"
}

main() {
  curl -sf -o /dev/null "$URL/healthcheck" || { log "no healthcheck at $URL"; exit 1; }
  head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$TMP/data.bin"
  DATA_SIZE=$((SIZE_MIB * 1048576))
  DATA_SHA512="$(sha512sum <"$TMP/data.bin" | cut -d' ' -f1)"

  local store id stores
  IMAGE_ID=""
  stores="$(list_store_ids | xargs)"
  log "stores: $stores"
  for store in $stores; do
    round_trip_store "$store" || continue
    id="$IMAGE_ID"
    [[ "$store" == ceph_* ]] && check_rbd_image "$store" "$id"
    check_list_and_delete "$id"
  done
  check_glanceclient

  if ((FAILURES)); then log "$FAILURES failure(s)"; exit 1; fi
  log "all passed"
}

main "$@"
