#!/usr/bin/env bash
# Times `factory classify --all` against git on the same synthetic repository, in one run, and
# prints the ratios recorded in BENCHMARKS.md.
#
#   bench/classify.sh [COMMITS] [PATHS]        (defaults: 20000 5000)
#
# The repository is generated deterministically by bench/synth_history.py into bench/out/.
# Each command runs once to warm the caches, then RUNS times; the best time counts.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-20000}
paths=${2:-5000}
runs=${RUNS:-3}
repo=bench/out/synth-$commits-$paths

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C

if [ ! -d "$repo" ]; then
  git init --quiet "$repo"
  python3 bench/synth_history.py "$commits" "$paths" | git -C "$repo" fast-import --quiet
  git -C "$repo" reset --quiet --hard main
  git -C "$repo" repack -adfq   # recompute deltas as gc does: fast-import chains old-to-new
  git -C "$repo" commit-graph write --reachable
fi
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory

best() { # best wall time in seconds of "$@" over $runs runs (after one warm-up)
  "$@" >/dev/null
  local best=999999 start end
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN { t = b - a; print (t < best ? t : best) }')
  done
  printf '%.3f' "$best"
}

cd "$repo"
n=$(git rev-list --all --count)
echo "repository: $n commits, $(git ls-files | wc -l) paths, $(nproc) cores"
raw=$(best git log --all --raw --no-renames --format=%H)
numstat=$(best git log --all --numstat --format=%H)
path_only=$(best "$factory" classify --all --format json --policy ../../path-only.toml)
content=$(best "$factory" classify --all --format json)
printf '%-58s %8ss\n' "git log --all --raw --no-renames" "$raw"
printf '%-58s %8ss\n' "git log --all --numstat" "$numstat"
printf '%-58s %8ss  ratio to git log --raw:     %.2f (target <= 1.0)\n' \
  "factory classify --all (path-only policy)" "$path_only" "$(awk -v a="$path_only" -v b="$raw" 'BEGIN { print a / b }')"
printf '%-58s %8ss  ratio to git log --numstat: %.2f (target <= 0.5)\n' \
  "factory classify --all (default policy, content rules)" "$content" "$(awk -v a="$content" -v b="$numstat" 'BEGIN { print a / b }')"
