#!/usr/bin/env python3
"""Agreement of factory's classification with a labelled corpus of real commits.

usage: bench/precision.py [--factory BIN] [--policy FILE] [--verbose] NAME=REPO_GIT_DIR...

For each NAME, bench/corpus/NAME.tsv holds the labelled commits (see bench/corpus/LABELLING.md);
REPO_GIT_DIR is a clone of the repository it names (bench/corpus/SOURCES.md), fetched into a
scratch directory. Each commit is classified with `factory classify ID --format json` (the
embedded default policy unless --policy is given) and compared with its label. Prints, per
repository and in total: agreement, hard-stop recall and precision, auto recall, and the
confusion matrix; --verbose lists every disagreement with factory's evidence.
"""
import json, os, subprocess, sys
from collections import Counter

TIERS = ["auto", "review", "hard-stop"]

def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    factory = os.path.join(here, "..", "target", "release", "factory")
    policy, verbose, repos = None, False, []
    it = iter(argv)
    for a in it:
        if a == "--factory": factory = next(it)
        elif a == "--policy": policy = os.path.abspath(next(it))
        elif a == "--verbose": verbose = True
        elif "=" in a: repos.append(a.split("=", 1))
        else: sys.exit(__doc__)
    if not repos: sys.exit(__doc__)
    total = Counter()
    rows = []
    for name, repo in repos:
        c = Counter()
        for line in open(os.path.join(here, "corpus", name + ".tsv")):
            if not line.strip() or line.startswith("#"): continue
            commit, label, files, reason = (line.rstrip("\n").split("\t") + ["", ""])[:4]
            cmd = [factory, "classify", commit, "--format", "json"]
            if policy: cmd += ["--policy", policy]
            out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{name} {commit}: factory exited {out.returncode}: {out.stderr.strip()}")
            got = json.loads(out.stdout)["tier"]
            c[(label, got)] += 1
            if verbose and got != label:
                ev = json.loads(out.stdout)["commits"][0]["evidence"]
                fired = sorted({f"{e['rule']}:{e['path']}" + (f":{e['line']}" if e.get('line') else "") for e in ev if e["tier"] == got})
                print(f"{name} {commit[:10]} label={label} factory={got} ({files}: {reason}) fired: {', '.join(fired[:4])}")
        total.update(c)
        rows.append((name, c))
    rows.append(("total", total))
    print(f"{'repository':<12} {'commits':>7} {'agree':>7} {'hs-recall':>9} {'hs-prec':>8} {'auto-rec':>8}")
    for name, c in rows:
        n = sum(c.values())
        agree = sum(v for (l, g), v in c.items() if l == g)
        def ratio(num, den): return f"{100*num/den:.0f} %" if den else "—"
        hs_l = sum(v for (l, g), v in c.items() if l == "hard-stop")
        hs_g = sum(v for (l, g), v in c.items() if g == "hard-stop")
        hs = c[("hard-stop", "hard-stop")]
        au_l = sum(v for (l, g), v in c.items() if l == "auto")
        print(f"{name:<12} {n:>7} {ratio(agree, n):>7} {ratio(hs, hs_l):>9} {ratio(hs, hs_g):>8} {ratio(c[('auto','auto')], au_l):>8}")
    print("\nconfusion (rows: label, columns: factory)")
    print(f"{'':<10}" + "".join(f"{t:>10}" for t in TIERS))
    for l in TIERS:
        print(f"{l:<10}" + "".join(f"{total[(l, g)]:>10}" for g in TIERS))

if __name__ == "__main__":
    main(sys.argv[1:])
