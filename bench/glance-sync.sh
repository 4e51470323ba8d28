#!/usr/bin/env bash
# Full sync of a Glance holding N images (default 5000) through `imprint serve` (POST /api/clouds/{id}/rematch) vs a bare
# curl paging loop (limit=1000) over the same server, then an incremental rematch when nothing changed.
# Usage: bench/glance-sync.sh [N]     (builds src/Imprint first; starts and stops its own Glance and imprint serve)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/imprint-bench-XXXX)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
eval "$(bash .ci/setup.d/20-glance.sh glance "$PORT" "$WORK/glance" | sed 's/^/export /')"
SPID=""
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; kill "$GLANCE_PID" 2>/dev/null; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT

echo "creating $N images in $GLANCE_URL ..."
"$PY" - "$GLANCE_URL" "$N" <<'EOF'
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
  local url="$GLANCE_URL/v2/images?limit=1000&visibility=all" count=0
  while [ -n "$url" ]; do
    body=$(curl -sf -H 'Accept: application/json' "$url")
    next=$(printf '%s' "$body" | "$PY" -c 'import sys,json; d=json.load(sys.stdin); print(d.get("next") or "")')
    url=${next:+$GLANCE_URL$next}
  done
}
start=$(date +%s.%N); curl_loop; end=$(date +%s.%N)
CURL=$(echo "$end - $start" | bc)

dotnet build src/Imprint/Imprint.csproj -c Release -nologo -v q >/dev/null
# The images were created seconds ago: with the default 5-minute watermark overlap every one of them would be listed
# again by the incremental sync. A 2-second overlap (and a pause past it) measures the no-change case itself.
OpenStack__WatermarkOverlap=00:00:02 dotnet src/Imprint/bin/Release/net10.0/imprint.dll serve --urls "http://127.0.0.1:$APORT" --data-dir "$WORK/imprint" >"$WORK/serve.log" 2>&1 &
SPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$APORT/healthz"; do sleep 0.2; done
TOKEN=$(cat "$WORK/imprint/admin.token")
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
CLOUD=$(api -X POST "http://127.0.0.1:$APORT/api/clouds" -d "{\"name\":\"bench\",\"kind\":\"openstack\",\"endpoint\":\"$GLANCE_URL\"}" | "$PY" -c 'import sys,json; print(json.load(sys.stdin)["id"])')
timed() { local s e; s=$(date +%s.%N); api -o "$WORK/report.json" -X POST "http://127.0.0.1:$APORT/api/clouds/$CLOUD/rematch"; e=$(date +%s.%N); echo "$e - $s" | bc; }
FULL=$(timed)
IMAGES=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["inventory"]["images"])' "$WORK/report.json")
sleep 3
BEFORE=$(grep -c '"GET /v2/images' "$WORK/glance/glance-api.log" || true)
INC=$(timed)
AFTER=$(grep -c '"GET /v2/images' "$WORK/glance/glance-api.log" || true)
echo "images listed by imprint:            $IMAGES"
echo "curl paging loop (limit=1000):       ${CURL} s"
echo "imprint full sync (rematch via API): ${FULL} s   ratio $(echo "scale=2; $FULL / $CURL" | bc)"
echo "imprint incremental, no change:      ${INC} s   Glance requests: $((AFTER - BEFORE))"
echo "server-side, as imprint logged them:"
grep -oE "(Rematch of cloud|Glance sync|Synced|synced).*" "$WORK/serve.log" | tail -4 | sed 's/^/  /'
