#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The banned-function check (as curl's checksrc does): product code
(common/, pkcs11/, tokens/, gateway/) calls none of strcpy, strcat,
sprintf, vsprintf, gets and strtok, whose bounds or state are the caller's
to get wrong; snprintf, memcpy with a checked length, or the codecs in
common/ do their work. Comments and string literals are not looked at.
Prints each call found as FILE:LINE: NAME and exits 1; with --self-test
it first shows that it finds a call and ignores one in a comment."""
import os
import re
import sys

BANNED = ("strcpy", "strcat", "sprintf", "vsprintf", "gets", "strtok")
CALL = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(BANNED) + r")\s*\(")
DIRS = ("common", "pkcs11", "tokens", "gateway")


def code_only(text):
    """text with comments, string and character literals blanked out
    (newlines kept, so line numbers stay right)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def calls(text):
    code = code_only(text)
    for m in CALL.finditer(code):
        yield code.count("\n", 0, m.start()) + 1, m.group(1)


def self_test():
    sample = ('/* strcpy(a, b) in a comment */\n'
              'const char *s = "sprintf(x)";\n'
              'n = snprintf(buf, sizeof(buf), "%s", s);\n'
              'my_strcat(a, b);\n'
              '\tstrcat (dst, src);\n')
    found = list(calls(sample))
    if found != [(5, "strcat")]:
        print(f"self-test: found {found}, wanted [(5, 'strcat')]")
        return False
    return True


def main():
    top = os.environ.get("SG_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    if not self_test():
        print("0 passed, 1 failed")
        return 1
    bad = 0
    files = 0
    for d in DIRS:
        for root, _, names in os.walk(os.path.join(top, d)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                files += 1
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line, fn in calls(f.read()):
                        print(f"{os.path.relpath(path, top)}:{line}: {fn}")
                        bad += 1
    if files == 0:
        print(f"no sources under {top}")
        bad = 1
    print(f"{files} files, {bad} banned calls")
    # The log's last line, as every test's: the self-test and the scan.
    print(f"{1 if bad else 2} passed, {1 if bad else 0} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
