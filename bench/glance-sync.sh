#!/usr/bin/env bash
# Full sync of a Glance holding N images (default 5000) through `imprint serve` (POST /api/clouds/{id}/rematch) vs a bare
# curl paging loop (limit=1000) over the same server, then an incremental rematch when nothing changed.
# Usage: bench/glance-sync.sh [N]     (builds src/Imprint first; starts and stops its own Glance and imprint serve)
#        GLANCE_URL=http://127.0.0.1:PORT bench/glance-sync.sh   measures against a running noauth Glance that already
#        holds the images (repeated runs without creating them again; KEEP_GLANCE=1 leaves the script's own Glance running)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/imprint-bench-XXXX)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SPID=""
if [ -n "${GLANCE_URL:-}" ]; then
  GLANCE_PID=""; GLANCE_LOG=${GLANCE_LOG:-}
else
  GLANCE_DIR=${KEEP_GLANCE:+/tmp/imprint-bench-glance}; GLANCE_DIR=${GLANCE_DIR:-$WORK/glance}; rm -rf "$GLANCE_DIR"
  eval "$(bash .ci/setup.d/20-glance.sh glance "$PORT" "$GLANCE_DIR" | sed 's/^/export /')"
  GLANCE_LOG=$GLANCE_DIR/glance-api.log
  [ -n "${KEEP_GLANCE:-}" ] && echo "Glance stays at GLANCE_URL=$GLANCE_URL GLANCE_LOG=$GLANCE_LOG (pid $GLANCE_PID)" && GLANCE_PID=""
  CREATE=1
fi
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$GLANCE_PID" ] && kill "$GLANCE_PID" 2>/dev/null; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT

[ -n "${CREATE:-}" ] && echo "creating $N images in $GLANCE_URL ..." && "$PY" - "$GLANCE_URL" "$N" <<'EOF'
import json, sys, urllib.request, concurrent.futures
G, n = sys.argv[1], int(sys.argv[2])
def make(i):
    req = urllib.request.Request(G + "/v2/images", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"name": f"bench-{i}", "disk_format": "raw", "container_format": "bare", "os_distro": "bench"}).encode())
    urllib.request.urlopen(req).read()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(make, range(n)))
EOF

curl_loop() {
  local url="$GLANCE_URL/v2/images?limit=1000&visibility=all"
  while [ -n "$url" ]; do
    body=$(curl -sf -H 'Accept: application/json' "$url")
    next=$(printf '%s' "$body" | grep -o '"next": *"[^"]*"' | sed 's/.*"\(\/[^"]*\)"$/\1/' || true)
    url=${next:+$GLANCE_URL$next}
  done
}
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

# The incremental listing asks for updated_at > (watermark - overlap), the overlap covering Glance's one-second timestamps.
# The images were just created, so touch one image after a pause: it alone is then in the window of "nothing changed".
sleep 3
TOUCH=$(curl -sf "$GLANCE_URL/v2/images?limit=1" | "$PY" -c 'import sys,json; print(json.load(sys.stdin)["images"][0]["id"])')
curl -sf -o /dev/null -X PATCH -H 'Content-Type: application/openstack-images-v2.1-json-patch' \
  -d "[{\"op\": \"add\", \"path\": \"/bench_touched\", \"value\": \"$(date +%s)\"}]" "$GLANCE_URL/v2/images/$TOUCH"

dotnet build src/Imprint/Imprint.csproj -c Release -nologo -v q >/dev/null
OpenStack__WatermarkOverlap=00:00:02 dotnet src/Imprint/bin/Release/net10.0/imprint.dll serve --no-scheduler --urls "http://127.0.0.1:$APORT" --data-dir "$WORK/imprint" >"$WORK/serve.log" 2>&1 &
SPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$APORT/healthz"; do sleep 0.2; done
TOKEN=$(cat "$WORK/imprint/admin.token")
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
rematch() { api -o "$WORK/report.json" -X POST "http://127.0.0.1:$APORT/api/clouds/$1/rematch"; }
requests() { if [ -n "$GLANCE_LOG" ]; then grep -c '"GET /v2/images' "$GLANCE_LOG" || true; else echo 0; fi; }
OSC=(openstack --os-auth-type none --os-endpoint "$GLANCE_URL" image list -f value -c ID)
command -v openstack >/dev/null || OSC=()

# (--no-scheduler: a cloud is due for its first scheduled sync as soon as it is registered, which would run beside the
# measured rematch.) Side by side, ROUNDS times: the bare paging loop, `openstack image list`, and a first (full) sync of a newly registered
# cloud through the running server. Round 1's server has served nothing before (its code is not yet compiled).
printf '%-6s %10s %10s %12s %8s %8s %14s %9s\n' round curl openstack "imprint full" ratio "osc/imp" "incremental" requests
for round in $(seq "${ROUNDS:-3}"); do
  CURL=$(seconds curl_loop)
  OS=${OSC:+$(printf '%.3f' "$(seconds "${OSC[@]}")")}
  CLOUD=$(api -X POST "http://127.0.0.1:$APORT/api/clouds" -d "{\"name\":\"bench-$round\",\"kind\":\"openstack\",\"endpoint\":\"$GLANCE_URL\"}" \
    | "$PY" -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  FULL=$(seconds rematch "$CLOUD")
  IMAGES=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["inventory"]["images"])' "$WORK/report.json")
  [ "$IMAGES" -ge "$N" ] || { echo "imprint listed $IMAGES images, expected $N" >&2; exit 1; }
  BEFORE=$(requests); INC=$(seconds rematch "$CLOUD"); AFTER=$(requests)
  printf '%-6s %10.3f %10s %12.3f %8.2f %8s %14.3f %9s\n' "$round" "$CURL" "${OS:-n/a}" "$FULL" "$(echo "scale=3; $FULL / $CURL" | bc)" \
    "${OS:+$(echo "scale=2; $OS / $FULL" | bc)}" "$INC" "$((AFTER - BEFORE))"
done
echo "times in seconds, end to end; ratio = imprint full / curl (target <= 1.5); osc/imp = openstack image list / imprint full"
echo "(target >= 3); incremental = a rematch right after the full one, nothing changed (target one Glance request, < 0.2 s)."
echo "server-side, as imprint logged them:"
grep -oE "(Rematch of cloud|Glance sync).*" "$WORK/serve.log" | sed 's/^/  /'
