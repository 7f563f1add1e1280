#!/usr/bin/env python3
"""Writes a large Claude Code 2.x session to stdout, shaped like the real ones.

Usage: bench/big_session.py MEGABYTES [SEED] > big.jsonl

Each round is what a real session holds per request: a `file-history-snapshot` line, the
user's prompt, the reply streamed over three lines that repeat one `message.id` and its usage
(thinking, text, a tool call), and the tool's result, whose `toolUseResult` repeats the output
as real sessions do (a Bash run's stdout; every third round a file read with its content; every
fifth an Edit with its patch). Text is drawn from a fixed vocabulary with a seeded generator, so
the file is the same on every machine and does not compress to nothing. Written for the
memory benchmark of issue 14 (bench/big_session.sh); nothing in it comes from a real session.
"""

import json
import random
import sys

WORDS = (
    "the of and to in is that for it as with was on be by this are or from at an which "
    "function return value error file line test build module config request response "
    "handler router server client token cache index commit branch merge patch diff tree "
    "struct impl trait match option result string vector map parse write read open close"
).split()


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def code(rng, lines):
    out = []
    for i in range(lines):
        indent = "    " * rng.randint(0, 3)
        out.append(f"{indent}let {rng.choice(WORDS)}_{i} = {rng.choice(WORDS)}({rng.randint(0, 999)});")
    return "\n".join(out)


def main():
    target = int(float(sys.argv[1]) * 1024 * 1024)
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    base = {
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/project",
        "sessionId": "0b9e1f4c-5d2a-4c1e-9a51-6f1d2c3b4a59",
        "version": "2.0.76",
        "gitBranch": "main",
    }
    written = 0
    parent = None
    n = 0
    out = sys.stdout
    while written < target:
        n += 1
        stamp = f"2026-11-{1 + (n // 3000) % 28:02d}T{(n // 60) % 24:02d}:{n % 60:02d}:00.000Z"
        lines = []
        lines.append({
            "type": "file-history-snapshot",
            "messageId": f"snap-{n}",
            "snapshot": {"messageId": f"snap-{n}", "trackedFileBackups": {}, "timestamp": stamp},
            "isSnapshotUpdate": False,
        })
        uid = f"u-{n}"
        lines.append(dict(base, type="user", parentUuid=parent, uuid=uid, timestamp=stamp,
                          message={"role": "user", "content": words(rng, rng.randint(8, 60))}))
        msg_id = f"msg_{n:08d}"
        usage = {"input_tokens": rng.randint(1, 50), "cache_creation_input_tokens": rng.randint(0, 5000),
                 "cache_read_input_tokens": rng.randint(0, 90000), "output_tokens": rng.randint(10, 900),
                 "service_tier": "standard"}
        call = f"toolu_{n:08d}"
        kind = "Read" if n % 3 == 0 else ("Edit" if n % 5 == 0 else "Bash")
        if kind == "Read":
            tool_input = {"file_path": f"/home/dev/project/src/{rng.choice(WORDS)}.rs"}
        elif kind == "Edit":
            tool_input = {"file_path": f"/home/dev/project/src/{rng.choice(WORDS)}.rs",
                          "old_string": code(rng, 6), "new_string": code(rng, 9)}
        else:
            tool_input = {"command": f"cargo test -p {rng.choice(WORDS)}", "description": words(rng, 6)}
        blocks = [
            {"type": "thinking", "thinking": words(rng, rng.randint(20, 120)), "signature": "Eo" + "x" * 300},
            {"type": "text", "text": words(rng, rng.randint(10, 80))},
            {"type": "tool_use", "id": call, "name": kind, "input": tool_input},
        ]
        prev = uid
        for i, block in enumerate(blocks):
            aid = f"a-{n}-{i}"
            lines.append(dict(base, type="assistant", parentUuid=prev, uuid=aid, timestamp=stamp,
                              requestId=f"req_{n}",
                              message={"model": "claude-sonnet-4-5-20250929", "id": msg_id, "type": "message",
                                       "role": "assistant", "content": [block], "stop_reason": None,
                                       "stop_sequence": None, "usage": usage}))
            prev = aid
        if kind == "Read":
            content = code(rng, rng.randint(40, 400))
            result = {"type": "text", "file": {"filePath": tool_input["file_path"], "content": content,
                                               "numLines": content.count("\n") + 1, "startLine": 1,
                                               "totalLines": content.count("\n") + 1}}
        elif kind == "Edit":
            content = "The file has been updated."
            result = {"filePath": tool_input["file_path"], "oldString": tool_input["old_string"],
                      "newString": tool_input["new_string"], "originalFile": code(rng, rng.randint(40, 300)),
                      "structuredPatch": [{"oldStart": 10, "oldLines": 6, "newStart": 10, "newLines": 9,
                                           "lines": ["-" + l for l in tool_input["old_string"].split("\n")]
                                           + ["+" + l for l in tool_input["new_string"].split("\n")]}],
                      "userModified": False, "replaceAll": False}
        else:
            content = "\n".join(words(rng, 12) for _ in range(rng.randint(5, 120)))
            result = {"stdout": content, "stderr": "", "interrupted": False, "isImage": False}
        rid = f"r-{n}"
        lines.append(dict(base, type="user", parentUuid=prev, uuid=rid, timestamp=stamp,
                          message={"role": "user", "content": [{"tool_use_id": call, "type": "tool_result",
                                                                "content": content, "is_error": False}]},
                          toolUseResult=result))
        parent = rid
        for line in lines:
            text = json.dumps(line, separators=(",", ":")) + "\n"
            out.write(text)
            written += len(text.encode())


if __name__ == "__main__":
    main()
