#!/usr/bin/env python3
"""Draws the commits of one repository for the labelled corpus (see SOURCES.md).

usage: sample.py GIT_DIR NAME N_RANDOM N_PATH N_MESSAGE WINDOW > NAME.txt

From the WINDOW newest non-merge commits of HEAD: N_RANDOM at random, then N_MESSAGE more whose
subject names a security topic and N_PATH more that touch a file whose name does (the hard cases
are then among them), all with a fixed seed, so the draw can be repeated.
"""
import subprocess, random, sys, re
repo, name, n_random, n_path, n_msg, window = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
def git(*a): return subprocess.run(["git","--git-dir",repo,*a],capture_output=True,text=True,check=True).stdout
lines = git("log","--no-merges","--format=%H%x09%s","-n",str(window),"HEAD").splitlines()
commits=[l.split("\t",1) for l in lines]
rng=random.Random(20261202)
chosen=[]
def add(c):
    if c not in chosen: chosen.append(c)
for c,_ in rng.sample(commits,n_random): add(c)
kw=re.compile(r"(?i)(auth|login|passw|token|secret|credential|crypt|cipher|tls|ssl|x509|cert|sign|verif|gpg|pgp|key|hash|sha|hmac|permission|rbac|csrf|session|trust|policy|sanitiz|escape|inject)")
msg=[c for c,s in commits if kw.search(s)]
rng.shuffle(msg)
k=0
for c in msg:
    if k>=n_msg: break
    if c not in chosen: add(c); k+=1
files=git("log","--no-merges","--format=C %H","--name-only","-n",str(window),"HEAD").splitlines()
bypath={}; cur=None
for l in files:
    if l.startswith("C "): cur=l[2:]
    elif l.strip():
        if kw.search(l.rsplit("/",1)[-1]) : bypath.setdefault(cur,1)
p=list(bypath); rng.shuffle(p); k=0
for c in p:
    if k>=n_path: break
    if c not in chosen: add(c); k+=1
for c in chosen: print(c)
