#!/usr/bin/env python3
"""Writes a deterministic synthetic history as a `git fast-import` stream on stdout.

    python3 bench/synth_history.py [COMMITS] [PATHS] | git fast-import --quiet

Defaults: 20,000 commits over 5,000 paths. The tree mixes source files (Rust, Python,
TypeScript, Go, SQL), documentation and tests, as a service repository would; commits edit one
to four files (some adding routes, DDL or auth calls that content rules notice), rename files
now and then, and every 40th commit merges a short side branch.
"""
import random
import sys

COMMITS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
PATHS = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
rng = random.Random(20260105)

DIRS = ["src/api", "src/core", "src/store", "src/auth", "src/billing", "web/src", "svc/cmd",
        "svc/internal", "docs", "docs/guide", "tests", "tests/api", "migrations", "scripts", "lib"]
EXTS = {"src": ".rs", "web": ".ts", "svc": ".go", "docs": ".md", "tests": ".rs",
        "migrations": ".sql", "scripts": ".py", "lib": ".py"}
LINES = [
    "let value = compute(input)?;",
    "return Ok(result);",
    "// keep the cache warm",
    "for item in items { total += item.price; }",
    "if let Some(x) = map.get(&key) { x.touch(); }",
    "logger.info(\"processed\")",
    "def handle(self, request): return self.inner(request)",
    "const total = items.reduce((a, b) => a + b, 0);",
    "func (s *Server) Close() error { return s.ln.Close() }",
    "The service keeps one connection per tenant.",
]
RISKY = [
    '    .route("/v1/items", get(list_items))',
    "CREATE TABLE audit_events (id BIGINT PRIMARY KEY);",
    "let ok = bcrypt::verify(password, &hash)?;",
    "app.post('/api/orders', createOrder);",
    "pub date_of_birth: NaiveDate,",
]

paths = []
for i in range(PATHS):
    d = DIRS[i % len(DIRS)]
    paths.append(f"{d}/m{i // len(DIRS):04d}{EXTS[d.split('/')[0]]}")
content = {p: [rng.choice(LINES) for _ in range(rng.randint(10, 40))] for p in paths}

out = sys.stdout.buffer
mark = 0
time = 1767600000


def data(text):
    b = text.encode()
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")


def blob_inline(path):
    out.write(b"M 100644 inline %s\n" % path.encode())
    data("\n".join(content[path]) + "\n")


def commit(ref, message, changes, parents=(), agent=False):
    global mark, time
    mark += 1
    time += 60
    out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
    who = "Agent Runner <agent@example.com>" if agent else "Dana Developer <dana@example.com>"
    out.write(b"author %s %d +0000\ncommitter %s %d +0000\n" % (who.encode(), time, who.encode(), time))
    if agent:
        message += "\n\nAgent: synth/1.0\n"
    data(message)
    for i, p in enumerate(parents):
        out.write(b"%s :%d\n" % (b"from" if i == 0 else b"merge", p))
    for change in changes:
        change()
    out.write(b"\n")
    return mark


def edit(path):
    lines = content[path]
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.05:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(RISKY))
        elif roll < 0.6:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(LINES))
        elif len(lines) > 5:
            lines[rng.randrange(len(lines))] = rng.choice(LINES)
    return lambda: blob_inline(path)


def rename(path):
    d, name = path.rsplit("/", 1)
    new = f"{d}/r{mark}_{name}"
    content[new] = content.pop(path)
    paths[paths.index(path)] = new
    return lambda: out.write(b"R %s %s\n" % (path.encode(), new.encode()))


# The root commit adds every path.
main = commit("refs/heads/main", "Initial import", [lambda p=p: blob_inline(p) for p in paths])
n = 1
while n < COMMITS:
    if n % 40 == 0 and n + 4 < COMMITS:
        side = main
        for k in range(3):
            side = commit("refs/heads/side", f"side work {n + k}", [edit(rng.choice(paths))], [side], agent=True)
        main = commit("refs/heads/main", f"Merge side work {n}", [], [main, side])
        n += 4
        continue
    changes = [edit(p) for p in rng.sample(paths, rng.randint(1, 4))]
    if rng.random() < 0.02:
        changes.append(rename(rng.choice(paths)))
    main = commit("refs/heads/main", f"change {n}", changes, [main], agent=rng.random() < 0.6)
    n += 1
out.write(b"reset refs/heads/side\nfrom 0000000000000000000000000000000000000000\n\n")
