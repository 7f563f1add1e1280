#!/usr/bin/env bash
# The cost of reading lines by their parts (the whole-file lexer), in one run: whole-history
# classification with the default policy, and with the same policy whose rules read whole lines
# (every `lines-in` and `lines-only-in` removed, so no file is lexed).
#
#   bench/lexer.sh REPO            (a clone or bare repository; RUNS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:?usage: bench/lexer.sh REPO}
runs=${RUNS:-3}
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
plain=$(mktemp --suffix=.toml)
trap 'rm -f "$plain"' EXIT
grep -v '^lines-in\|^lines-only-in' policies/default.toml > "$plain"
# A rule left with no condition would not load: comment-only has only lines-only-in besides paths.
"$factory" policy check "$plain" >/dev/null 2>&1 || { echo "the policy without lines-in does not load"; exit 2; }

. "$PWD/bench/lib.sh"
read -r lexed _ < <(best "$factory" -C "$repo" classify --all --format json)
read -r whole _ < <(best "$factory" -C "$repo" classify --all --format json --policy "$plain")
echo "repository: $(git -C "$repo" rev-list --all --count) commits, $(nproc) cores"
printf '%-58s %8ss\n' "factory classify --all, default policy (lines lexed)" "$lexed"
printf '%-58s %8ss\n' "the same, whole lines (no lexing)" "$whole"
awk -v a="$lexed" -v b="$whole" 'BEGIN { printf "lexing costs %.1f %% of the run\n", (a - b) / b * 100 }'
