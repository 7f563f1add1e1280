# Shared by the bench scripts that measure with GNU time: source it after setting `runs`.

command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)"; exit 2; }

best() { # prints "seconds peak-MB" of "$@": best time of $runs runs after a warm-up, max RSS
  "$@" >/dev/null
  local best=999999 peak=0 out t m
  for _ in $(seq "$runs"); do
    out=$({ /usr/bin/time -f '%e %M' "$@" >/dev/null; } 2>&1 | tail -1)
    t=${out% *}; m=${out#* }
    best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (a < b ? a : b) }')
    peak=$(( m > peak ? m : peak ))
  done
  echo "$best $(( peak / 1024 ))"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
