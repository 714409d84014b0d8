#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The banned-function check (as curl's checksrc does): product code
(common/, pkcs11/, tokens/, gateway/) calls none of strcpy, strcat,
sprintf, vsprintf, gets and strtok, whose bounds or state are the caller's
to get wrong, and never throws away what snprintf or vsnprintf return, so
no truncation goes unchecked: a message that may be cut goes through
sg_msg, a name or identifier through sg_strfit or a checked snprintf.
Comments and string literals are not looked at. Prints each call found as
FILE:LINE: NAME and exits 1. It first checks itself on a sample."""
import os
import re
import sys

BANNED = ("strcpy", "strcat", "sprintf", "vsprintf", "gets", "strtok")
CALL = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(BANNED) + r")\s*\(")
DIRS = ("common", "audit", "pkcs11", "tokens", "gateway")


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


BOUNDED = re.compile(r"(?<![A-Za-z0-9_])(v?snprintf)\s*\(")


def discarded(code, at):
    """Whether the call starting at code[at] is a statement of its own: its
    result thrown away (after ; { } else, a (void) cast, or the condition
    of an if, for or while)."""
    i = at - 1
    while i >= 0 and code[i].isspace():
        i -= 1
    if i < 0 or code[i] in ";{}":
        return True
    if code[max(0, i - 3):i + 1] == "else" and (i < 4 or not code[i - 4].isalnum()):
        return True
    if code[i] != ")":
        return False
    depth, j = 0, i
    while j >= 0:
        if code[j] == ")":
            depth += 1
        elif code[j] == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    if code[j + 1:i].strip() == "void":
        return True
    k = j - 1
    while k >= 0 and code[k].isspace():
        k -= 1
    word = re.search(r"([A-Za-z_]+)$", code[:k + 1])
    return word is not None and word.group(1) in ("if", "for", "while")


def calls(text):
    code = code_only(text)
    for m in CALL.finditer(code):
        yield code.count("\n", 0, m.start()) + 1, m.group(1)
    for m in BOUNDED.finditer(code):
        if discarded(code, m.start()):
            yield code.count("\n", 0, m.start()) + 1, m.group(1) + " (result unchecked)"


def self_test():
    sample = ('/* strcpy(a, b) in a comment */\n'
              'const char *s = "sprintf(x)";\n'
              'n = snprintf(buf, sizeof(buf), "%s", s);\n'
              'my_strcat(a, b);\n'
              '\tstrcat (dst, src);\n'
              'if (snprintf(b, n, "%d", 1) >= n) return 1;\n'
              'if (x)\n\tsnprintf(b, n, "%d", 2);\n'
              '(void)snprintf(b, n, "x");\n'
              'else snprintf(b, n, "y");\n'
              'r = f(a) || vsnprintf(b, n, fmt, ap) < 0;\n'
              '{ vsnprintf(b, n, fmt, ap); }\n')
    want = [(5, "strcat"), (8, "snprintf (result unchecked)"), (9, "snprintf (result unchecked)"),
            (10, "snprintf (result unchecked)"), (12, "vsnprintf (result unchecked)")]
    found = list(calls(sample))
    if found != want:
        print(f"self-test: found {found}, wanted {want}")
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
