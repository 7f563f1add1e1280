#!/usr/bin/env bash
# Load time and peak memory of a big policy, shaped like a large monorepo's CODEOWNERS import
# (bench/big_policy.py: one anchored directory per rule, every 7th rule also a wildcard glob,
# every 11th an unanchored name, every 10th two added-lines regexes), for several sizes: the
# growth shows whether loading is linear. Target (issue 12): 50,000 rules under 1 s and 200 MB.
#
#   bench/policy_load.sh [SIZES…]        (default: 12500 25000 50000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ $# -eq 0 ] && sizes=(12500 25000 50000)
mkdir -p bench/out
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
printf '%-8s %-10s %-10s\n' rules seconds peak-MB
for n in "${sizes[@]}"; do
  file=bench/out/policy-$n.toml
  [ -f "$file" ] || python3 bench/big_policy.py "$n" "$file" >/dev/null
  # `policy check FILE` loads and validates the policy (exit 0: ok, with warnings).
  /usr/bin/time -o bench/out/time.txt -f '%e %M' "$factory" policy check "$file" >/dev/null 2>&1
  read -r secs kb <bench/out/time.txt
  printf '%-8s %-10s %-10s\n' "$n" "$secs" "$((kb / 1024))"
done
