#!/usr/bin/env bash
# Compares `imprint fingerprint` with the tools it must beat (issue 3), side by side in one run, medians of RUNS:
#   1. dense 2 GiB raw, --digest disk-sha256  vs  openssl dgst -sha256             (want >= 1.7x faster)
#   2. same file, the four default digests     vs  openssl dgst -sha512             (want <= 1.3x the time)
#   3. 16 GiB qcow2 holding 256 MiB of data    vs  qemu-img convert -O raw + openssl dgst -sha256 (want >= 20x faster)
# Usage: bench/disk-fingerprint.sh   (RUNS=5, IMPRINT=path/to/published/imprint to skip the Release publish,
#                                     BENCH_DIR=dir for the generated files, default a temp dir removed at exit)
set -euo pipefail

RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for tool in openssl qemu-img qemu-io dotnet; do
    command -v "$tool" >/dev/null || { echo "disk-fingerprint.sh: $tool is required (apt-get install -y qemu-utils openssl)" >&2; exit 2; }
done

WORK=${BENCH_DIR:-$(mktemp -d /var/tmp/imprint-bench.XXXXXX)}
mkdir -p "$WORK"
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$WORK"' EXIT

if [ -z "${IMPRINT:-}" ]; then
    echo "publishing a Release build (ReadyToRun) ..." >&2
    dotnet publish "$ROOT/src/Imprint/Imprint.csproj" -c Release -r linux-x64 --self-contained false \
        -p:PublishReadyToRun=true -o "$WORK/imprint" >/dev/null
    IMPRINT="$WORK/imprint/imprint"
fi

random_bytes() { # N bytes of fast pseudo-random data (AES-CTR keystream)
    # openssl dies of SIGPIPE once head has enough: expected, so not a failure under pipefail.
    (openssl enc -aes-128-ctr -nosalt -pass pass:imprint-bench -in /dev/zero 2>/dev/null || true) | head -c "$1"
}

DENSE="$WORK/dense.raw"
if [ ! -s "$DENSE" ]; then
    echo "making a dense 2 GiB raw image ..." >&2
    random_bytes $((2 << 30)) > "$DENSE"
fi
SPARSE="$WORK/sparse.qcow2"
if [ ! -s "$SPARSE" ]; then
    echo "making a 16 GiB qcow2 holding 256 MiB of data ..." >&2
    truncate -s 16G "$WORK/sparse-src.raw"
    for i in $(seq 0 15); do # 16 MiB of data at the start of every GiB
        random_bytes $((16 << 20)) | dd of="$WORK/sparse-src.raw" bs=1M seek=$((i * 1024)) conv=notrunc status=none
    done
    qemu-img convert -f raw -O qcow2 "$WORK/sparse-src.raw" "$SPARSE"
    rm -f "$WORK/sparse-src.raw"
fi

seconds() { # wall time of a command, in seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    awk -v a="$end" -v b="$start" 'BEGIN { printf "%.4f\n", a - b }'
}
convert_and_hash() {
    qemu-img convert -f qcow2 -O raw "$SPARSE" "$WORK/converted.raw"
    openssl dgst -sha256 "$WORK/converted.raw"
    rm -f "$WORK/converted.raw"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Same content, two containers: the digests must agree before their speed means anything.
a=$("$IMPRINT" fingerprint --json --digest disk-sha256 "$SPARSE")
qemu-img convert -f qcow2 -O raw "$SPARSE" "$WORK/check.raw"
b=$("$IMPRINT" fingerprint --json --digest disk-sha256 "$WORK/check.raw")
rm -f "$WORK/check.raw"
[ "${a##*disk-sha256:}" = "${b##*disk-sha256:}" ] || { echo "disk-sha256 of the qcow2 and of its raw conversion differ" >&2; exit 1; }

# Warm the page cache so that every contender reads from memory.
cat "$DENSE" "$SPARSE" >/dev/null

# Other work on the machine skews the multi-core side more than the one-core side: say how busy it was.
load_before=$(cut -d' ' -f1 /proc/loadavg)
declare -A samples
names="ossl256 ossl512 imp_disk imp_all conv imp_qcow2"
for run in $(seq 1 "$RUNS"); do
    samples[ossl256]+="$(seconds openssl dgst -sha256 "$DENSE") "
    samples[imp_disk]+="$(seconds "$IMPRINT" fingerprint --digest disk-sha256 "$DENSE") "
    samples[ossl512]+="$(seconds openssl dgst -sha512 "$DENSE") "
    samples[imp_all]+="$(seconds "$IMPRINT" fingerprint "$DENSE") "
    samples[conv]+="$(seconds convert_and_hash) "
    samples[imp_qcow2]+="$(seconds "$IMPRINT" fingerprint --digest disk-sha256 "$SPARSE") "
    echo "run $run/$RUNS done" >&2
done
declare -A m
for n in $names; do m[$n]=$(echo "${samples[$n]}" | tr ' ' '\n' | grep . | median); done

echo "load average before: $load_before, after: $(cut -d' ' -f1 /proc/loadavg) (on $(nproc) cores)"
printf '\n%-58s %10s %10s %9s %8s\n' "measurement (median of $RUNS, $(nproc) cores)" "imprint s" "other s" "ratio" "target"
printf '%-58s %10.3f %10.3f %8.2fx %8s\n' "dense 2 GiB raw: disk-sha256 vs openssl sha256 (speedup)" "${m[imp_disk]}" "${m[ossl256]}" \
    "$(ratio "${m[ossl256]}" "${m[imp_disk]}")" ">= 1.7x"
printf '%-58s %10.3f %10.3f %8.2fx %8s\n' "dense 2 GiB raw: 4 default digests vs openssl sha512 (time)" "${m[imp_all]}" "${m[ossl512]}" \
    "$(ratio "${m[imp_all]}" "${m[ossl512]}")" "<= 1.3x"
printf '%-58s %10.3f %10.3f %8.2fx %8s\n' "16 GiB qcow2, 256 MiB data: vs convert+sha256 (speedup)" "${m[imp_qcow2]}" "${m[conv]}" \
    "$(ratio "${m[conv]}" "${m[imp_qcow2]}")" ">= 20x"
