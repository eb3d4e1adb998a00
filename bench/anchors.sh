#!/bin/sh
# npm run bench:anchors: install the benchmark anchors (uWebSockets.js, Bun) into bench/.anchors
# (git-ignored) with the shared script /work/shared/anchors/install.sh — found as $BENCH_ANCHORS_INSTALL,
# or ../shared/anchors/install.sh from the repository (a checkout beside shared/), or ../../shared/...
# (a worktree one level deeper). The bench finds them there and runs them beside us.
set -eu
cd "$(dirname "$0")/.."
for s in "${BENCH_ANCHORS_INSTALL:-}" ../shared/anchors/install.sh ../../shared/anchors/install.sh /work/shared/anchors/install.sh; do
  if [ -n "$s" ] && [ -f "$s" ]; then exec bash "$s" "${BENCH_ANCHORS:-bench/.anchors}"; fi
done
echo "bench:anchors: cannot find shared/anchors/install.sh (set BENCH_ANCHORS_INSTALL to its path)" >&2
exit 1
