#!/usr/bin/env bash
# Memory and note size of attaching one large Claude Code session (issue 14): the session is
# written by bench/big_session.py (MEGABYTES, default 100), attached to an empty commit of a
# scratch repository with the release build, and measured with GNU time. Prints the peak
# resident memory and the note's size, each as a ratio to the session file's size.
#
#   bench/big_session.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
runs=${RUNS:-3}
. bench/lib.sh
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/big_session.py "$mb" > "$work/session.jsonl"
size=$(stat -c %s "$work/session.jsonl")
git init -q "$work/repo"
cd "$work/repo"
git commit -q --allow-empty -m empty
read -r secs peak_mb < <(best "$factory" transcript attach HEAD "$work/session.jsonl")
note=$(git notes --ref=factory/transcripts show HEAD | wc -c)
file_mb=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "session:      $size bytes ($file_mb MiB)"
echo "attach:       $secs s, peak $peak_mb MiB = $(ratio "$peak_mb" "$file_mb")× the file"
echo "note:         $note bytes = $(ratio "$note" "$size")× the file"
