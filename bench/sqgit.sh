#!/usr/bin/env bash
# `factory verify --all` against sequoia-git's `sq-git log` and `git log --format=%G?` (gpg) on
# the same repository of OpenPGP-signed commits, in one run.
#
#   SQ_GIT=/path/to/sq-git bench/sqgit.sh [COMMITS]     (default 1000; RUNS=3)
#
# sequoia-git installs with `cargo install sequoia-git` (its default backend needs Debian's
# nettle-dev, clang and pkg-config). The repository is generated into bench/out/ on first use:
# a policy for both tools naming one OpenPGP key, then COMMITS commits signed with it.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${RUNS:-3}
sqgit=${SQ_GIT:-sq-git}
out=$PWD/bench/out/sqgit-$n
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC
export GNUPGHOME=$out/gnupg HOME=$out/home
if [ ! -d "$out/repo" ]; then
  mkdir -p "$GNUPGHOME" "$HOME" && chmod 700 "$GNUPGHOME"
  gpg --batch --passphrase '' --quick-gen-key 'Alice <alice@example.com>' ed25519 sign 0 2>/dev/null
  fpr=$(gpg --with-colons --list-keys alice@example.com | awk -F: '/^fpr/ {print $10; exit}')
  git init --quiet --initial-branch=main "$out/repo"
  cd "$out/repo"
  git config user.name Alice; git config user.email alice@example.com
  git config user.signingkey "$fpr"; git config commit.gpgsign true
  mkdir -p .factory/keys
  gpg --armor --export "$fpr" > .factory/keys/alice.asc
  printf 'version = 1\ndefault-tier = "auto"\n[[tier]]\nname = "auto"\ndescription = "Everything."\n[people.alice]\nroles = ["maintainer"]\nkeys = ["openpgp:%s"]\n' "$fpr" > .factory/policy.toml
  "$sqgit" policy authorize --cert-file .factory/keys/alice.asc alice --sign-commit >/dev/null
  git add -A && git commit --quiet -m "policies and keys"
  for i in $(seq 1 "$n"); do
    echo "$i" > counter
    git add counter
    git commit --quiet -m "commit $i"
  done
  cd - >/dev/null
fi
cd "$out/repo"
root=$(git rev-list --max-parents=0 HEAD)
best() {
  "$@" >/dev/null 2>&1 || true
  local best=999999 start end
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN { t = b - a; print (t < best ? t : best) }')
  done
  printf '%.3f' "$best"
}
echo "repository: $(git rev-list --count HEAD) commits signed with OpenPGP (ed25519), $(nproc) cores"
good_factory=$("$factory" verify --all | awk '$2 == "good"' | wc -l)
good_git=$(git log --format=%G? | grep -c '^G' || true)
good_sq=$("$sqgit" log --trust-root "$root" 2>/dev/null | grep -c . || true)
f=$(best "$factory" verify --all)
g=$(best git log --format=%G?)
s=$(best "$sqgit" log --trust-root "$root")
printf '%-44s %8ss  good: %s\n' "factory verify --all" "$f" "$good_factory"
printf '%-44s %8ss  good: %s  ratio factory/git: %s\n' "git log --format=%G? (gpg)" "$g" "$good_git" "$(awk -v a="$f" -v b="$g" 'BEGIN { printf "%.3f", a / b }')"
printf '%-44s %8ss  lines: %s  ratio factory/sq-git: %s\n' "sq-git log --trust-root ROOT" "$s" "$good_sq" "$(awk -v a="$f" -v b="$s" 'BEGIN { printf "%.3f", a / b }')"
