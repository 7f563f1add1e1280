#!/usr/bin/env bash
# Times `factory verify --all` against `git log --format=%G?` on the same repository of signed
# commits (half OpenPGP, half SSH), in one run, and prints the ratio recorded in BENCHMARKS.md.
#
#   bench/verify.sh [COMMITS]        (default 2000)
#
# The repository, keys and policy are generated into bench/out/ on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
runs=${RUNS:-3}
out=$PWD/bench/out/signed-$n
cargo build --release --quiet -p factory-cli
factory=$PWD/target/release/factory
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC
export GNUPGHOME=$out/gnupg HOME=$out/home

if [ ! -d "$out/repo" ]; then
  mkdir -p "$GNUPGHOME" "$HOME" && chmod 700 "$GNUPGHOME"
  gpg --batch --passphrase '' --quick-gen-key 'Alice <alice@example.com>' ed25519 sign 0 2>/dev/null
  fpr=$(gpg --with-colons --list-keys alice@example.com | awk -F: '/^fpr/ {print $10; exit}')
  ssh-keygen -q -t ed25519 -N '' -C bob@example.com -f "$out/bob"
  git init --quiet --initial-branch=main "$out/repo"
  cd "$out/repo"
  git config user.name Bench; git config user.email bench@example.com
  mkdir -p .factory/keys
  gpg --armor --export "$fpr" > .factory/keys/alice.asc
  cat > .factory/policy.toml <<POLICY
version = 1
default-tier = "auto"
[[tier]]
name = "auto"
description = "Everything."
[people.alice]
roles = ["maintainer"]
keys = ["openpgp:$fpr"]
[people.bob]
roles = ["maintainer"]
keys = ["$(cat "$out/bob.pub")"]
POLICY
  echo "bob@example.com $(cat "$out/bob.pub")" > "$out/allowed_signers"
  git add -A && git commit --quiet -m "policy and keys"
  for i in $(seq 1 "$n"); do
    echo "$i" > counter
    git add counter
    if [ $((i % 2)) -eq 0 ]; then
      git -c user.signingkey="$fpr" commit --quiet -S -m "commit $i"
    else
      git -c gpg.format=ssh -c user.signingkey="$out/bob" commit --quiet -S -m "commit $i"
    fi
  done
  cd - >/dev/null
fi
best() {
  "$@" >/dev/null 2>&1
  local best=999999 start end
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN { t = b - a; print (t < best ? t : best) }')
  done
  printf '%.3f' "$best"
}

cd "$out/repo"
echo "repository: $(git rev-list --count HEAD) commits ($n signed: half OpenPGP, half SSH), $(nproc) cores"
git_time=$(best git -c gpg.ssh.allowedSignersFile="$out/allowed_signers" log --format=%G?)
factory_time=$(best "$factory" verify --all --format json)
printf '%-50s %8ss\n' "git log --format=%G? (gpg, ssh-keygen)" "$git_time"
printf '%-50s %8ss  speed-up: %.1fx (target >= 30x)\n' "factory verify --all --format json" "$factory_time" \
  "$(awk -v a="$git_time" -v b="$factory_time" 'BEGIN { print a / b }')"
echo "verdicts: $("$factory" verify --all --format json | grep -o '"verdict": "[a-z-]*"' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
