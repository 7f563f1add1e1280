#!/usr/bin/env bash
# Whole-history classification of a real repository against git, in one run: time (best of
# RUNS after a warm-up) and peak memory (GNU time's maximum resident set size).
#
#   bench/history.sh REPO            (a clone or bare repository; RUNS=3 by default)
#
# Measures, on every commit reachable from any ref of REPO:
#   git log --raw --no-renames                      (git shows no diff for merges)
#   git log --raw --no-renames --diff-merges=first-parent   (the same work factory does)
#   factory classify --all --policy bench/path-only.toml
#   git log --numstat
#   factory classify --all (default policy)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:?usage: bench/history.sh REPO}
runs=${RUNS:-3}
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
policy=$PWD/bench/path-only.toml
. "$PWD/bench/lib.sh"

echo "repository: $(git -C "$repo" rev-list --all --count) commits ($(git -C "$repo" rev-list --all --merges --count) merges), $(nproc) cores"
read -r raw raw_m < <(best git -C "$repo" log --all --raw --no-renames --format=%H)
read -r fp fp_m < <(best git -C "$repo" log --all --raw --no-renames --diff-merges=first-parent --format=%H)
read -r path path_m < <(best "$factory" -C "$repo" classify --all --format json --policy "$policy")
read -r num num_m < <(best git -C "$repo" log --all --numstat --format=%H)
read -r content content_m < <(best "$factory" -C "$repo" classify --all --format json)
printf '%-62s %8ss %6s MB\n' "git log --raw --no-renames" "$raw" "$raw_m"
printf '%-62s %8ss %6s MB\n' "git log --raw --no-renames --diff-merges=first-parent" "$fp" "$fp_m"
printf '%-62s %8ss %6s MB  time: %s of git --raw, %s of git --raw first-parent\n' \
  "factory classify --all (path-only policy)" "$path" "$path_m" "$(ratio "$path" "$raw")" "$(ratio "$path" "$fp")"
printf '%-62s %8ss %6s MB\n' "git log --numstat" "$num" "$num_m"
printf '%-62s %8ss %6s MB  time: %s of git --numstat; memory: %s of git --numstat\n' \
  "factory classify --all (default policy)" "$content" "$content_m" "$(ratio "$content" "$num")" "$(ratio "$content_m" "$num_m")"
