#!/usr/bin/env bash
# Rematch of a folder cloud of N files of 64 KiB (default 10,000), side by side in one run with a shell script that
# does the same hashing:
#   1. first rematch (fingerprints every file: md5, sha256, sha512, disk-sha256)  vs  the shell baseline below
#      (want: not slower than the baseline, ratio <= 1). Wall time and CPU time (user + system) of each: on a shared
#      machine the wall time depends on what else runs; the CPU time much less.
#   2. median of 5 unchanged rematches (want < 2 s, and no image bytes read: /proc/PID/io rchar counts SQLite pages
#      too, so it is an upper bound on image bytes read)
# Shell baseline: `find -print0 | xargs -0 -P2 -n 500 md5sum`, then the same with sha256sum and sha512sum; the sum of
# the three (it computes no disk-sha256, which Imprint does on top).
# The server runs with --no-scheduler: a newly registered cloud is due for a scheduled rematch at once, which would
# otherwise run beside the measured one.
# Run it under the shared lock so that no other benchmark runs at the same time:
#   flock /tmp/imprint-bench.lock bench/folder-rematch.sh [N]
# IMPRINT=path/to/published/imprint skips the Release publish.
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
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
if [ -z "${IMPRINT:-}" ]; then
    dotnet publish "$root/src/Imprint" -c Release -o "$work/bin" -nologo -v quiet >/dev/null
    IMPRINT="$work/bin/imprint"
fi

measure() { # "wall cpu" of a command, in seconds (cpu: user + system, its children included)
    local TIMEFORMAT='%R %U %S' out
    out=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$out"
}
shell_sums() { find "$work/images" -type f -print0 | xargs -0 -P2 -n 500 "$1"; }

echo "load before: $(uptime)"
read -r md5 md5_cpu < <(measure shell_sums md5sum)
read -r sha256 sha256_cpu < <(measure shell_sums sha256sum)
read -r sha512 sha512_cpu < <(measure shell_sums sha512sum)
shell=$(awk -v a="$md5" -v b="$sha256" -v c="$sha512" 'BEGIN { printf "%.3f", a + b + c }')
shell_cpu=$(awk -v a="$md5_cpu" -v b="$sha256_cpu" -v c="$sha512_cpu" 'BEGIN { printf "%.3f", a + b + c }')
echo "shell baseline (xargs -P2): md5sum $md5 s + sha256sum $sha256 s + sha512sum $sha512 s = $shell s, CPU $shell_cpu s"

port=$((20000 + RANDOM % 10000))
"$IMPRINT" serve --no-scheduler --data-dir "$work/data" --urls "http://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "imprint serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
token=$(cat "$work/data/admin.token")
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
inventory() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["inventory"])' "$1"; }
cloud=$(api -X POST "http://127.0.0.1:$port/api/clouds" -d "{\"name\":\"bench\",\"kind\":\"folder\",\"endpoint\":\"$work/images\"}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cpu0=$(awk '{print $14 + $15}' /proc/$pid/stat)
t0=$(date +%s.%N); api -X POST "http://127.0.0.1:$port/api/clouds/$cloud/rematch" >"$work/first.json"; t1=$(date +%s.%N)
cpu1=$(awk '{print $14 + $15}' /proc/$pid/stat)
first=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
first_cpu=$(awk -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
echo "first rematch (hashes every file): $first s, server CPU $first_cpu s; $(inventory "$work/first.json")"
echo "first rematch / shell baseline: wall $(awk -v a="$first" -v b="$shell" 'BEGIN { printf "%.2f", a / b }'), CPU $(awk -v a="$first_cpu" -v b="$shell_cpu" 'BEGIN { printf "%.2f", a / b }')"
before=$(awk '/^rchar/ {print $2}' /proc/$pid/io)
times=()
for i in 1 2 3 4 5; do
  t0=$(date +%s.%N); api -X POST "http://127.0.0.1:$port/api/clouds/$cloud/rematch" >"$work/again.json"; t1=$(date +%s.%N)
  times+=("$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')")
done
after=$(awk '/^rchar/ {print $2}' /proc/$pid/io)
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "unchanged rematch: median $median s of 5 (${times[*]}); $(inventory "$work/again.json")"
echo "bytes read by the server during the 5 unchanged rematches: $((after - before)) (image bytes in the folder: $((n * 65536)))"
echo "load after: $(uptime)"
