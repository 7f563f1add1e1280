#!/usr/bin/env bash
# Times `factory report` against `factory audit` over the same whole history of the synthetic
# repository of bench/classify.sh, in one run: both from a cold cache, then both warm.
#
#   bench/report.sh [COMMITS] [PATHS]        (defaults: 20000 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-20000}
paths=${2:-5000}
runs=${RUNS:-3}
repo=$PWD/bench/out/synth-$commits-$paths
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
[ -d "$repo" ] || bench/classify.sh "$commits" "$paths" >/dev/null
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
cd "$repo"
root=$(git rev-list --max-parents=0 main | tail -1)
cache=$(git rev-parse --git-dir)/factory/cache

best() { # best wall time of "$@" over $runs runs; COLD=1 clears the cache before each
  local best=999999 start end
  for _ in $(seq "$runs"); do
    [ -n "${COLD:-}" ] && rm -rf "$cache"
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN { t = b - a; print (t < best ? t : best) }')
  done
  printf '%.3f' "$best"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "repository: $(git rev-list --count main) commits, $(git rev-list --first-parent --count main) first-parent changes, $(nproc) cores"
audit_cold=$(COLD=1 best "$factory" audit "$root..main")
report_cold=$(COLD=1 best "$factory" report "$root..main" --format json)
audit_warm=$(best "$factory" audit "$root..main")
report_warm=$(best "$factory" report "$root..main" --format json)
printf '%-52s %8ss\n' "factory audit ROOT..main (cold cache)" "$audit_cold"
printf '%-52s %8ss  ratio: %s (target <= 1.5)\n' "factory report ROOT..main --format json (cold cache)" "$report_cold" "$(ratio "$report_cold" "$audit_cold")"
printf '%-52s %8ss\n' "factory audit ROOT..main (warm cache)" "$audit_warm"
printf '%-52s %8ss  ratio: %s\n' "factory report ROOT..main --format json (warm cache)" "$report_warm" "$(ratio "$report_warm" "$audit_warm")"
