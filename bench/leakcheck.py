#!/usr/bin/env python3
"""Checks that the secrets a prefix grep finds in real session files do not reach the stored
notes: each file is attached to an empty commit of a scratch repository with FACTORY (default
target/release/factory) and the stored transcripts are searched for every secret found.

Usage: bench/leakcheck.py DIR... (directories of session files: .json, .jsonl, .md, .ndjson)
"""
import json,re,subprocess,os,sys,tempfile,glob
B=os.environ.get('FACTORY', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'target', 'release', 'factory'))
DIRS=sys.argv[1:]
pats=[r'AIza[0-9A-Za-z_-]{35}', r'\b(?:AKIA|ASIA)[0-9A-Z]{16}\b', r'\bgh[pousr]_[A-Za-z0-9]{36}', r'\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{30,}', r'\bxox[abpr]-[A-Za-z0-9-]{10,}', r'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}', r'-----BEGIN [A-Z ]*PRIVATE KEY-----', r'\bhf_[A-Za-z0-9]{30,}', r'\bglpat-[A-Za-z0-9_-]{20}', r'[a-z]+://[^\s:/@"]+:[^\s@/"]{6,}@']
env=dict(os.environ, GIT_CONFIG_GLOBAL='/dev/null', GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e', GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@e')
files=[f for d in DIRS for f in glob.glob(d+'/**/*',recursive=True) if os.path.isfile(f) and f.endswith(('.json','.jsonl','.md','.ndjson')) and '/out/' not in f and '/work/' not in f and 'SOURCES' not in f]
found=leaked=0
for f in files:
    raw=open(f,errors='replace').read()
    hits=set()
    for p in pats:
        for m in re.finditer(p, raw):
            s=m.group(0)
            if 'your' in s.lower() or 'xxxx' in s.lower() or 'example' in s.lower(): continue
            # A URL's password that is a placeholder or a variable is no secret.
            m2 = re.match(r'[a-z]+://[^:]*:([^@]*)@', s)
            if m2 and (m2.group(1).lower() in ('password', 'pass', 'secret', 'pw') or m2.group(1)[:1] in '$<{%'): continue
            hits.add(s)
    if not hits: continue
    d=tempfile.mkdtemp()
    subprocess.run(['git','init','-q'],cwd=d,env=env); subprocess.run(['git','commit','-q','--allow-empty','-m','x'],cwd=d,env=env)
    r=subprocess.run([B,'transcript','attach','HEAD',f],cwd=d,env=env,capture_output=True)
    if r.returncode!=0: continue
    out=subprocess.run([B,'transcript','show','HEAD','--format','json'],cwd=d,env=env,capture_output=True,text=True).stdout
    out=out.replace('\\/','/')
    for h in hits:
        found+=1
        # compare on the JSON-escaped form too
        if h in out or json.dumps(h)[1:-1] in out:
            leaked+=1; print('LEAK', f, h[:12] + '…')
print('secrets found', found, 'leaked', leaked)
