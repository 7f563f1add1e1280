#!/usr/bin/env bash
# Times the gate on the synthetic repository of bench/classify.sh, in one run, and prints the
# ratios recorded in BENCHMARKS.md:
#   1. the pre-receive decision for a one-commit push (objects in a quarantine directory, as
#      git receive-pack leaves them), against `git diff-tree -r --name-only` on that commit;
#   2. `factory audit ROOT..main` over the whole history, without a cache;
#   3. the same audit again with the cache it wrote (target: a tenth of the first or less).
#
#   bench/gate.sh [COMMITS] [PATHS]        (defaults: 20000 5000; FACTORY=binary to measure another build)
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-20000}
paths=${2:-5000}
runs=${RUNS:-5}
repo=$PWD/bench/out/synth-$commits-$paths
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
[ -d "$repo" ] || bench/classify.sh "$commits" "$paths" >/dev/null
# FACTORY=path measures another build (an allocator or a branch) against the same repository.
if [ -z "${FACTORY:-}" ]; then
  cargo build --release --quiet -p factory-cli
fi
factory=${FACTORY:-$PWD/target/release/factory}

best() { # best wall time in seconds of "$@" over $runs runs (after one warm-up); stdin from $input
  "$@" <"${input:-/dev/null}" >/dev/null 2>&1 || true
  local best=999999 start end
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$@" <"${input:-/dev/null}" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN { t = b - a; print (t < best ? t : best) }')
  done
  printf '%.4f' "$best"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
server=$work/server.git
git clone --quiet --bare "$repo" "$server"

# One new commit on main adding an endpoint to an existing source file, written into a
# quarantine directory the way receive-pack does.
quarantine=$server/objects/incoming-bench
mkdir -p "$quarantine/pack"
old=$(git -C "$server" rev-parse main)
file=$(git -C "$server" ls-tree -r --name-only main | awk '/\.rs$/ && !f { print; f = 1 }')
export GIT_INDEX_FILE=$work/index
git -C "$server" read-tree main
blob=$( { git -C "$server" cat-file blob "main:$file"; echo 'fn more(r: Router) -> Router { r.route("/bench", get(bench)) }'; } |
  GIT_OBJECT_DIRECTORY=$quarantine GIT_ALTERNATE_OBJECT_DIRECTORIES=$server/objects git -C "$server" hash-object -w --stdin)
git -C "$server" update-index --cacheinfo "100644,$blob,$file"
tree=$(GIT_OBJECT_DIRECTORY=$quarantine GIT_ALTERNATE_OBJECT_DIRECTORIES=$server/objects git -C "$server" write-tree)
new=$(echo "Add /bench" | GIT_OBJECT_DIRECTORY=$quarantine GIT_ALTERNATE_OBJECT_DIRECTORIES=$server/objects \
  GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b git -C "$server" commit-tree "$tree" -p "$old")
unset GIT_INDEX_FILE
echo "$old $new refs/heads/main" >"$work/input"

n=$(git -C "$repo" rev-list --count main)
echo "repository: $n commits on main, $(git -C "$repo" ls-tree -r --name-only main | wc -l) paths, $(nproc) cores"
export GIT_QUARANTINE_PATH=$quarantine GIT_OBJECT_DIRECTORY=$quarantine GIT_ALTERNATE_OBJECT_DIRECTORIES=$server/objects
cd "$server"
difftree=$(best git diff-tree -r --name-only "$new")
input=$work/input
hook=$(best "$factory" hook pre-receive)
"$factory" hook pre-receive <"$work/input" | sed 's/^/    /' || true
input=
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
printf '%-58s %8ss\n' "git diff-tree -r --name-only NEW" "$difftree"
printf '%-58s %8ss  ratio: %s (target <= 3)\n' "factory hook pre-receive (one-commit push)" "$hook" "$(ratio "$hook" "$difftree")"

cd "$repo"
root=$(git rev-list --max-parents=0 main | tail -1)
runs=1
audit=$(best "$factory" audit "$root..main" --no-cache)
rm -rf "$(git rev-parse --git-dir)/factory/cache"
first=$(best "$factory" audit "$root..main")   # the warm-up run writes the cache
runs=3
again=$(best "$factory" audit "$root..main")
printf '%-58s %8ss\n' "factory audit ROOT..main --no-cache" "$audit"
printf '%-58s %8ss  ratio to the uncached audit: %s (target <= 0.1)\n' "factory audit ROOT..main (cache warm)" "$again" "$(ratio "$again" "$audit")"
