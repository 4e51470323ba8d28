#!/usr/bin/env bash
# Rematch of an unchanged folder cloud of N files (default 10,000): must read no image bytes and finish in under 2 s.
# Prints the first (hashing) rematch time, then the median of 5 unchanged rematches, and how many bytes the server
# read from files during them (/proc/PID/io rchar: SQLite pages included, so it is an upper bound on image bytes read).
# Usage: bench/folder-rematch.sh [N]
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/images"
echo "writing $n files of 64 KiB…"
/usr/bin/python3 - "$work/images" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, f"dir{i % 100:02d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"img-{i:05d}.raw"), "wb") as f:
        f.write(os.urandom(64 * 1024))
PY
dotnet publish "$root/src/Imprint" -c Release -o "$work/bin" -nologo -v quiet >/dev/null
port=$((20000 + RANDOM % 10000))
"$work/bin/imprint" serve --data-dir "$work/data" --urls "http://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$(cat "$work/data/admin.token")
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
cloud=$(api -X POST "http://127.0.0.1:$port/api/clouds" -d "{\"name\":\"bench\",\"kind\":\"folder\",\"endpoint\":\"$work/images\"}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t0=$(date +%s.%N); api -X POST "http://127.0.0.1:$port/api/clouds/$cloud/rematch" >"$work/first.json"; t1=$(date +%s.%N)
echo "first rematch (hashes every file): $(echo "$t1 - $t0" | bc) s, $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["inventory"])' "$work/first.json")"
before=$(awk '/^rchar/ {print $2}' /proc/$pid/io)
times=()
for i in 1 2 3 4 5; do
  t0=$(date +%s.%N); api -X POST "http://127.0.0.1:$port/api/clouds/$cloud/rematch" >"$work/again.json"; t1=$(date +%s.%N)
  times+=("$(echo "$t1 - $t0" | bc)")
done
after=$(awk '/^rchar/ {print $2}' /proc/$pid/io)
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "unchanged rematch: median $median s of 5 (${times[*]}); $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["inventory"])' "$work/again.json")"
echo "bytes read by the server during the 5 unchanged rematches: $((after - before)) (image bytes in the folder: $((n * 65536)))"
