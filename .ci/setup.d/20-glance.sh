#!/usr/bin/env bash
# Starts the real OpenStack peers the openstack connector's tests use, on 127.0.0.1 with free ports:
#   - Glance v2 in noauth mode (GLANCE_URL): listing, paging, upload, matching, faults;
#   - Keystone v3 (KEYSTONE_URL) and a second Glance that validates Keystone tokens (GLANCE_KEYSTONE_URL): auth tests.
# Debian's python3-glance / python3-keystone (Zed) with sqlite (WAL) and a file store under $IMPRINT_CI_DIR.
# Writes KEY=VALUE lines to $IMPRINT_CI_DIR/glance.env (default /tmp/imprint-ci/glance.env); teardown.d/20-glance.sh stops
# every process by the pid it wrote.
#
# Also a library for tests and benchmarks:  20-glance.sh glance PORT DIR [FLAVOR]   starts one more Glance
# (FLAVOR "" = noauth, "keystone" = token validation against $KEYSTONE_URL) and prints GLANCE_URL=, GLANCE_PID=;
# 20-glance.sh restart PORT DIR   starts such a Glance again after it was stopped, with the images it held.
set -euo pipefail
PY=/usr/bin/python3   # a pyenv/venv python3 on PATH cannot import glance
CI_DIR="${IMPRINT_CI_DIR:-/tmp/imprint-ci}"
ENV_FILE="$CI_DIR/glance.env"

install_peers() {
  local missing=()
  "$PY" -c 'import glance' 2>/dev/null || missing+=(python3-glance)
  "$PY" -c 'import keystone' 2>/dev/null || missing+=(python3-keystone)
  command -v qemu-img >/dev/null || missing+=(qemu-utils)
  ((${#missing[@]})) || return 0
  echo "installing ${missing[*]} (python3-glance takes about 75 s)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$CI_DIR/apt.log" 2>&1 \
    || { apt-get update -qq >>"$CI_DIR/apt.log" 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$CI_DIR/apt.log" 2>&1; } \
    || { tail -20 "$CI_DIR/apt.log" >&2; return 1; }
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() {  # url pid name
  local deadline=$((SECONDS + 90))
  until curl -sf -o /dev/null --max-time 2 "$1"; do
    kill -0 "$2" 2>/dev/null || { echo "$3 exited early" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "$3 not ready after 90 s" >&2; kill "$2"; return 1; }
    sleep 0.2
  done
}

# Runs the Python script on stdin as Keystone's admin, with K (the v3 URL, first argument), call(method, path, body, tok),
# tok (an admin token) and sys.argv defined.
keystone_admin() {  # v3-url [args...] < script
  local prelude
  prelude=$(cat <<'EOF'
import json, sys, urllib.request
K = sys.argv[1]
def call(method, path, body=None, tok=None):
    req = urllib.request.Request(K + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"X-Auth-Token": tok} if tok else {})})
    with urllib.request.urlopen(req) as r:
        return r.headers, json.loads(r.read() or b"null")
h, _ = call("POST", "/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"id": "default"}, "password": "adminpw"}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
tok = h["X-Subject-Token"]
EOF
)
  "$PY" -c "$prelude
exec(sys.stdin.read())" "$@"
}

start_keystone() {  # port dir -> KEYSTONE_URL, KEYSTONE_PID
  local port=$1 dir=$2 url="http://127.0.0.1:$1"
  rm -rf "$dir"; mkdir -p "$dir"/{fernet-keys,credential-keys}
  cat >"$dir/keystone.conf" <<EOF
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = $dir/fernet-keys
[fernet_receipts]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
EOF
  local km=("$PY" /usr/bin/keystone-manage --config-file "$dir/keystone.conf")
  {
    "${km[@]}" db_sync
    # without WAL sqlite answers "database is locked" (HTTP 500) to every second write
    "$PY" -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$dir/keystone.sqlite"
    "${km[@]}" fernet_setup --keystone-user root --keystone-group root
    "${km[@]}" credential_setup --keystone-user root --keystone-group root
    "${km[@]}" bootstrap --bootstrap-password adminpw --bootstrap-region-id RegionOne \
      --bootstrap-admin-url "$url/v3/" --bootstrap-internal-url "$url/v3/" --bootstrap-public-url "$url/v3/"
  } >"$dir/manage.log" 2>&1 || { echo "keystone-manage failed:" >&2; tail -30 "$dir/manage.log" >&2; return 1; }
  # the child writes its own pid: setsid forks when the caller has job control, so $! may be wrong
  OS_KEYSTONE_CONFIG_FILES="$dir/keystone.conf" setsid bash -c \
    'echo $$ >"$1/keystone.pid"; exec "$2" /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$3"' \
    _ "$dir" "$PY" "$port" >"$dir/keystone.out" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$dir/keystone.pid" ] && break; sleep 0.1; done
  KEYSTONE_PID=$(cat "$dir/keystone.pid")
  wait_ready "$url/v3" "$KEYSTONE_PID" keystone
  # a demo project and user with role member (admin/adminpw comes from bootstrap)
  keystone_admin "$url/v3" <<'EOF'
p = call("POST", "/projects", {"project": {"name": "demo", "domain_id": "default"}}, tok)[1]["project"]["id"]
u = call("POST", "/users", {"user": {"name": "demo", "domain_id": "default", "password": "demopw", "default_project_id": p}}, tok)[1]["user"]["id"]
r = call("GET", "/roles?name=member", tok=tok)[1]["roles"][0]["id"]
call("PUT", f"/projects/{p}/users/{u}/roles/{r}", tok=tok)
EOF
  KEYSTONE_URL="$url/v3"
}

run_glance() {  # dir url -> GLANCE_PID: starts the Glance configured in dir
  local dir=$1 url=$2
  rm -f "$dir/glance-api.pid"
  setsid bash -c 'echo $$ >"$1/glance-api.pid"; exec "$2" -m glance.cmd.api --config-file "$1/glance-api.conf"' \
    _ "$dir" "$PY" >"$dir/glance-api.out" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$dir/glance-api.pid" ] && break; sleep 0.1; done
  GLANCE_PID=$(cat "$dir/glance-api.pid")
  wait_ready "$url/healthcheck" "$GLANCE_PID" glance-api || { tail -20 "$dir/glance-api.log" >&2; return 1; }
}

start_glance() {  # port dir flavor -> GLANCE_URL, GLANCE_PID
  local port=$1 dir=$2 flavor=${3:-} url="http://127.0.0.1:$1"
  rm -rf "$dir"; mkdir -p "$dir"/{images,staging,tasks,locks}
  cat >"$dir/glance-api-paste.ini" <<EOF
[pipeline:glance-api]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler unauthenticated-context rootapp
[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp
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
disable_by_file_path = $dir/healthcheck_disable
[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true
[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
[filter:unauthenticated-context]
paste.filter_factory = glance.api.middleware.context:UnauthenticatedContextMiddleware.factory
[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory
[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
EOF
  # noauth: the context is admin without roles; rules that are plain "role:admin" would still refuse
  : >"$dir/policy.yaml"
  [ -n "$flavor" ] || printf '"publicize_image": ""\n"communitize_image": ""\n"copy_image": ""\n' >"$dir/policy.yaml"
  cat >"$dir/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
workers = 0
log_file = $dir/glance-api.log
use_stderr = false
enabled_backends = local:file
[database]
connection = sqlite:///$dir/glance.sqlite
[paste_deploy]
flavor = $flavor
config_file = $dir/glance-api-paste.ini
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = $dir/images/
[os_glance_staging_store]
filesystem_store_datadir = $dir/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $dir/tasks/
[oslo_concurrency]
lock_path = $dir/locks
[oslo_policy]
enforce_new_defaults = false
policy_file = $dir/policy.yaml
EOF
  if [ "$flavor" = keystone ]; then
    cat >>"$dir/glance-api.conf" <<EOF
[keystone_authtoken]
www_authenticate_uri = ${KEYSTONE_URL%/v3}
auth_url = ${KEYSTONE_URL%/v3}
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = admin
username = admin
password = adminpw
EOF
  fi
  "$PY" -m glance.cmd.manage --config-file "$dir/glance-api.conf" db_sync >"$dir/db_sync.log" 2>&1 \
    || { echo "glance-manage db_sync failed:" >&2; tail -20 "$dir/db_sync.log" >&2; return 1; }
  "$PY" -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$dir/glance.sqlite"
  run_glance "$dir" "$url"
  if [ "$flavor" = keystone ]; then
    # the image service and its endpoints in the Keystone catalog
    keystone_admin "${KEYSTONE_URL%/}" "$url" <<'EOF'
url = sys.argv[2]
svcs = call("GET", "/services?type=image", tok=tok)[1]["services"]
sid = svcs[0]["id"] if svcs else call("POST", "/services", {"service": {"type": "image", "name": "glance"}}, tok)[1]["service"]["id"]
for i in ("public", "internal", "admin"):
    call("POST", "/endpoints", {"endpoint": {"service_id": sid, "interface": i, "url": url, "region_id": "RegionOne"}}, tok)
EOF
  fi
  GLANCE_URL=$url
}

mkdir -p "$CI_DIR"
if [ "${1:-}" = restart ]; then  # PORT DIR: a Glance started by "glance PORT DIR" and stopped, again, with its images
  run_glance "$3" "http://127.0.0.1:$2"
  echo "GLANCE_URL=http://127.0.0.1:$2"
  echo "GLANCE_PID=$GLANCE_PID"
  exit 0
fi
if [ "${1:-}" = glance ]; then
  start_glance "$2" "$3" "${4:-}"
  echo "GLANCE_URL=$GLANCE_URL"
  echo "GLANCE_PID=$GLANCE_PID"
  exit 0
fi

install_peers
# peers of an earlier run that was not torn down: stop them first (by their pids)
[ -f "$CI_DIR/pids" ] && bash "$(dirname "$0")/../teardown.d/20-glance.sh"
rm -f "$ENV_FILE"
start_glance "$(free_port)" "$CI_DIR/glance" ""
NOAUTH_URL=$GLANCE_URL NOAUTH_PID=$GLANCE_PID
echo "GLANCE_PID=$NOAUTH_PID" >>"$CI_DIR/pids"
start_keystone "$(free_port)" "$CI_DIR/keystone"
echo "KEYSTONE_PID=$KEYSTONE_PID" >>"$CI_DIR/pids"
start_glance "$(free_port)" "$CI_DIR/glance-keystone" keystone
echo "GLANCE_KEYSTONE_PID=$GLANCE_PID" >>"$CI_DIR/pids"
cat >"$ENV_FILE" <<EOF
GLANCE_URL=$NOAUTH_URL
GLANCE_PID=$NOAUTH_PID
KEYSTONE_URL=$KEYSTONE_URL
KEYSTONE_PID=$KEYSTONE_PID
GLANCE_KEYSTONE_URL=$GLANCE_URL
GLANCE_KEYSTONE_PID=$GLANCE_PID
GLANCE_SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
IMPRINT_CI_DIR=$CI_DIR
EOF
echo "glance $NOAUTH_URL, keystone $KEYSTONE_URL, glance with keystone $GLANCE_URL (in $ENV_FILE)"
