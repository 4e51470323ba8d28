#!/usr/bin/env bash
# Matching by content in Glance: a qcow2 (VSIZE GiB virtual, DATA MiB of data in 4 places) uploaded without any
# imprint property; a matcher holding its disk-sha256. Side by side, ROUNDS times:
#   script:  what a user would script by hand: curl the file, qemu-img convert to raw, sha256sum the raw disk
#   imprint: the first rematch of a newly registered cloud (listing + the ranged download fingerprinted as it streams)
# Usage: bench/glance-content.sh     (VSIZE=4 DATA=512 ROUNDS=3; starts and stops its own Glance and imprint serve)
set -euo pipefail
cd "$(dirname "$0")/.."
VSIZE=${VSIZE:-4}; DATA=${DATA:-512}; ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
WORK=$(mktemp -d /var/tmp/imprint-bench-XXXX)
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(port); APORT=$(port); SPID=""
eval "$(bash .ci/setup.d/20-glance.sh glance "$PORT" "$WORK/glance" | sed 's/^/export /')"
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; kill "$GLANCE_PID" 2>/dev/null; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT

echo "making a ${VSIZE} GiB qcow2 with ${DATA} MiB of data ..."
truncate -s "${VSIZE}G" "$WORK/disk.raw"
for i in 0 1 2 3; do
  dd if=/dev/urandom of="$WORK/disk.raw" bs=1M count=$((DATA / 4)) seek=$((i * VSIZE * 256)) conv=notrunc status=none
done
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$WORK/disk.qcow2"
dotnet build src/Imprint/Imprint.csproj -c Release -nologo -v q >/dev/null
IMPRINT=(dotnet src/Imprint/bin/Release/net10.0/imprint.dll)
read -r DISK VIRTUAL < <("${IMPRINT[@]}" fingerprint --json --digest disk-sha256 "$WORK/disk.qcow2" \
  | "$PY" -c 'import sys,json; j=json.load(sys.stdin); print(j["digests"][0], j["virtualSize"])')
rm "$WORK/disk.raw"
ID=$(curl -sf -X POST -H 'Content-Type: application/json' "$GLANCE_URL/v2/images" \
  -d '{"name": "bench-content", "disk_format": "qcow2", "container_format": "bare"}' | "$PY" -c 'import sys,json; print(json.load(sys.stdin)["id"])')
curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/disk.qcow2" "$GLANCE_URL/v2/images/$ID/file"
echo "qcow2 $(stat -c %s "$WORK/disk.qcow2") bytes, $DISK"

"${IMPRINT[@]}" serve --no-scheduler --urls "http://127.0.0.1:$APORT" --data-dir "$WORK/imprint" >"$WORK/serve.log" 2>&1 &
SPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$APORT/healthz"; do sleep 0.2; done
TOKEN=$(cat "$WORK/imprint/admin.token")
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
id_of() { "$PY" -c 'import sys,json; print(json.load(sys.stdin)["id"])'; }
MCI=$(api -X POST "http://127.0.0.1:$APORT/api/multi-cloud-images" -d '{"name": "bench-content"}' | id_of)
api -o /dev/null -X POST "http://127.0.0.1:$APORT/api/multi-cloud-images/$MCI/matchers" \
  -d "{\"cloudKind\": \"openstack\", \"fingerprint\": [\"$DISK\"], \"virtualSize\": $VIRTUAL}"

script() {
  curl -sf -o "$WORK/dl.qcow2" "$GLANCE_URL/v2/images/$ID/file"
  qemu-img convert -f qcow2 -O raw "$WORK/dl.qcow2" "$WORK/dl.raw"
  sha256sum "$WORK/dl.raw" >/dev/null
  rm -f "$WORK/dl.qcow2" "$WORK/dl.raw"
}
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

printf '%-6s %10s %10s %8s %-8s %s\n' round script imprint ratio status "downloaded by imprint"
for round in $(seq "$ROUNDS"); do
  SCRIPT=$(seconds script)
  CLOUD=$(api -X POST "http://127.0.0.1:$APORT/api/clouds" -d "{\"name\": \"bench-$round\", \"kind\": \"openstack\", \"endpoint\": \"$GLANCE_URL\"}" | id_of)
  IMP=$(seconds api -o "$WORK/report.json" -X POST "http://127.0.0.1:$APORT/api/clouds/$CLOUD/rematch")
  STATUS=$(api "http://127.0.0.1:$APORT/api/multi-cloud-images/$MCI/image-map" \
    | "$PY" -c 'import sys,json; print([c["status"] for c in json.load(sys.stdin)["clouds"] if c["cloudId"] == sys.argv[1]][0])' "$CLOUD")
  CONTENT=$("$PY" -c 'import sys,json; c=json.load(open(sys.argv[1]))["content"]; print(c["fingerprinted"], "image,", c["bytes"], "bytes")' "$WORK/report.json")
  printf '%-6s %10.3f %10.3f %8.2f %-8s %s\n' "$round" "$SCRIPT" "$IMP" "$(echo "scale=3; $SCRIPT / $IMP" | bc)" "$STATUS" "$CONTENT"
done
