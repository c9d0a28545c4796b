#!/usr/bin/env python3
"""Rebuilds the corpus's extracted files from their sources (see corpus/README.md).

Usage: extract.py PATT_GIT FUZZDB_GIT DEBS_ROOT SECLISTS_DIR
  PATT_GIT   git dir of swisskyrepo/PayloadsAllTheThings (commit in README)
  FUZZDB_GIT git dir of fuzzdb-project/fuzzdb (commit in README)
  DEBS_ROOT  directory the Debian packages wfuzz and wapiti were extracted into (dpkg-deb -x)
  SECLISTS_DIR a checkout (or the single file) of danielmiessler/SecLists Fuzzing/Databases/NoSQL.txt
The iso-codes and nodejs JSON files are read from /usr/share of the machine (versions in README).

Selection is deterministic: lines are stripped, de-duplicated in order, payloads that cannot be
told apart from ordinary input (shorter than 4 characters, or letters/digits/spaces only) are
dropped, tool placeholders are filled (see fill), held-out payloads that also occur in a tuning source are dropped, and a list longer
than CAP is thinned to CAP by taking evenly spaced lines.
"""
import gzip
import html
import json
import os
import re
import subprocess
import sys

CAP = 80
HERE = os.path.dirname(os.path.abspath(__file__))


def git_lines(git_dir, path):
    out = subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"], capture_output=True, check=True)
    return out.stdout.decode("utf-8", "replace").splitlines()


def file_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def keep(line):
    s = line.strip()
    if len(s) < 4 or s.startswith("#"):
        return False
    return not re.fullmatch(r"[A-Za-z0-9 ]+", s)


def fill(line):
    """Fills the tools' placeholders as they do: wapiti's [VALUE] (the original value) and [LF]
    (a line feed, written as %0a), fuzzdb's {cmd} (the command to run)."""
    return line.replace("[VALUE]", "a").replace("[LF]", "%0a").replace("{cmd}", "id")


def sample(lines, clean, wanted, cap):
    """The distinct cleaned lines that are wanted, thinned to `cap` evenly spaced ones."""
    seen, out = set(), []
    for l in lines:
        l = clean(l)
        if wanted(l) and l not in seen:
            seen.add(l)
            out.append(l)
    if len(out) <= cap:
        return out
    step = len(out) / cap
    return [out[int(i * step)] for i in range(cap)]


def thin(lines, cap=CAP):
    return sample(lines, lambda l: fill(l.strip()), keep, cap)


def write(rel, lines, header):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# {header}\n")
        for l in lines:
            f.write(l + "\n")


def json_strings(value, out):
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            json_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            json_strings(v, out)


def benign_thin(lines, cap):
    return sample(lines, lambda l: " ".join(l.split()), lambda l: 3 <= len(l) <= 200 and not l.startswith("#"), cap)


def main():
    patt, fuzzdb, debs, seclists = sys.argv[1:5]
    wapiti = os.path.join(debs, "usr/lib/python3/dist-packages/wapitiCore/data/attacks")
    wfuzz = os.path.join(debs, "usr/share/wfuzz/wordlist")
    tune = {
        "sqli": ["SQL Injection/Intruder/Generic_Fuzz.txt", "SQL Injection/Intruder/Auth_Bypass.txt",
                 "SQL Injection/Intruder/Generic_UnionSelect.txt", "SQL Injection/Intruder/Generic_TimeBased.txt"],
        "xss": ["XSS Injection/Intruders/IntrudersXSS.txt"],
        "nosql": ["NoSQL Injection/Intruder/NoSQL.txt", "NoSQL Injection/Intruder/MongoDB.txt"],
        "ldap": ["LDAP Injection/Intruder/LDAP_FUZZ.txt"],
        "ssti": ["Server Side Template Injection/Intruder/ssti.fuzz"],
        "shell": ["Command Injection/Intruder/command_exec.txt"],
        "traversal": ["Directory Traversal/Intruder/directory_traversal.txt",
                      "Directory Traversal/Intruder/traversals-8-deep-exotic-encoding.txt"],
    }
    tuned = set()
    for family, paths in tune.items():
        lines = thin([l for p in paths for l in git_lines(patt, p)])
        tuned.update(lines)
        write(f"tune/attack/{family}/payloadsallthethings.txt", lines,
              "swisskyrepo/PayloadsAllTheThings (MIT): " + ", ".join(paths))
    held = {
        "sqli": [("fuzzdb", "attack/sql-injection/detect/Generic_SQLI.txt"),
                 ("fuzzdb", "attack/sql-injection/detect/xplatform.txt"),
                 ("wfuzz", "Injections/SQL.txt"), ("wapiti", "blindSQLPayloads.txt")],
        "xss": [("fuzzdb", "attack/xss/xss-rsnake.txt"), ("wfuzz", "Injections/XSS.txt")],
        "nosql": [("seclists", "Fuzzing/Databases/NoSQL.txt")],
        "ldap": [("fuzzdb", "attack/ldap/ldap-injection.txt")],
        "shell": [("fuzzdb", "attack/os-cmd-execution/command-execution-unix.txt"),
                  ("fuzzdb", "attack/os-cmd-execution/command-injection-template.txt"),
                  ("wapiti", "execPayloads.txt")],
        "traversal": [("fuzzdb", "attack/path-traversal/path-traversal-windows.txt"),
                      ("wfuzz", "Injections/Traversal.txt"), ("wfuzz", "vulns/dirTraversal-nix.txt")],
    }
    for family, items in held.items():
        by_source = {}
        for source, p in items:
            if source == "fuzzdb":
                lines = git_lines(fuzzdb, p)
            elif source == "wfuzz":
                lines = file_lines(os.path.join(wfuzz, p))
            elif source == "seclists":
                lines = file_lines(os.path.join(seclists, p))
            else:
                lines = file_lines(os.path.join(wapiti, p))
            by_source.setdefault(source, ([], []))
            by_source[source][0].extend(lines)
            by_source[source][1].append(p)
        for source, (lines, paths) in by_source.items():
            lines = [l for l in thin(lines) if l not in tuned]
            lic = {"fuzzdb": "fuzzdb-project/fuzzdb (BSD-3-Clause / CC-BY-3.0)",
                   "wfuzz": "Debian package wfuzz 3.1.0-2 (GPL-2.0)",
                   "seclists": "danielmiessler/SecLists 177f25ba69a63e2801627ac42f17a8b112ea8cc6 (MIT)",
                   "wapiti": "Debian package wapiti 3.0.4+dfsg-2 (GPL-2.0)"}[source]
            write(f"heldout/attack/{family}/{source}.txt", lines, lic + ": " + ", ".join(paths))
    # Benign, tuning: iso-codes names (apostrophes, commas, accents, parentheses).
    names = []
    for f in ["iso_3166-1.json", "iso_3166-2.json", "iso_4217.json", "iso_15924.json"]:
        data = json.load(open(f"/usr/share/iso-codes/json/{f}", encoding="utf-8"))
        for entries in data.values():
            for e in entries:
                names.extend(v for k, v in e.items() if k in ("name", "official_name", "common_name"))
    write("tune/benign/iso-codes.txt", benign_thin(names, 400),
          "Debian package iso-codes 4.15.0-1 (LGPL-2.1+): name fields of /usr/share/iso-codes/json/iso_{3166-1,3166-2,4217,15924}.json")
    # Benign, held out: Node.js API documentation prose with code-like strings.
    strings = []
    for f in sorted(os.listdir("/usr/share/doc/nodejs/api")):
        if f.endswith(".json.gz") and f != "all.json.gz":
            with gzip.open(f"/usr/share/doc/nodejs/api/{f}", "rt", encoding="utf-8") as g:
                json_strings(json.load(g), strings)
    prose = [html.unescape(re.sub(r"<[^>]+>", "", p)) for s in strings for p in s.split("\n")]
    write("heldout/benign/nodejs-api-docs.txt", benign_thin(prose, 400),
          "nodejs 20.20.2 API docs (MIT): string values of /usr/share/doc/nodejs/api/*.json.gz (all.json.gz excepted), one line each, HTML tags removed and entities decoded")


if __name__ == "__main__":
    main()
