#!/usr/bin/env bash
# Stops the peers setup.d/20-glance.sh started, by the pids it wrote (never by name), and removes their state.
set -uo pipefail
CI_DIR="${IMPRINT_CI_DIR:-/tmp/imprint-ci}"
[ -f "$CI_DIR/pids" ] || exit 0
while IFS='=' read -r _ pid; do
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
  kill -TERM "$pid"
  for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
done <"$CI_DIR/pids"
rm -rf "$CI_DIR/pids" "$CI_DIR/glance.env" "$CI_DIR/glance" "$CI_DIR/keystone" "$CI_DIR/glance-keystone"
echo "glance and keystone stopped"
