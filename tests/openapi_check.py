#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks docs/openapi.json against the code and against real answers.

  openapi_check.py routes DOC ROUTE_C     the route table in gateway/http/gw_route.c
                                          and the document name the same operations
  openapi_check.py answers DOC ANSWERS    each recorded answer (JSON lines: method,
                                          path template, status, content_type, body)
                                          validates against its documented schema
  openapi_check.py examples DOC -         every example validates against its schema

Exit 0 when everything matches, 1 with one line per mismatch on stderr.
"""
import json
import re
import sys
import warnings

import jsonschema

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# A route table entry: { "METHOD", "/path", ...
ROUTE_RE = re.compile(r'^\s*\{\s*"([A-Z]+)",\s*"(/[^"]*)"', re.M)


def table_routes(source):
    with open(source, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\}\s*routes\[\]\s*=\s*\{(.*?)^\};", text, re.S | re.M)
    if m is None:
        raise SystemExit(f"{source}: no route table found")
    return {(meth, path) for meth, path in ROUTE_RE.findall(m.group(1))}


def doc_routes(doc):
    found = set()
    for path, item in doc["paths"].items():
        # The table writes a path parameter as "{}".
        pattern = re.sub(r"\{[^}]+\}", "{}", path)
        for meth in item:
            if meth in METHODS:
                found.add((meth.upper(), pattern))
    return found


def check_routes(doc, source):
    code, documented = table_routes(source), doc_routes(doc)
    errors = [f"{m} {p}: in the route table of {source} but not documented in the OpenAPI paths"
              for m, p in sorted(code - documented)]
    errors += [f"{m} {p}: documented but not in the route table of {source}"
               for m, p in sorted(documented - code)]
    return errors


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def check_answer(doc, validator_for, a):
    where = f'{a["method"]} {a["path"]} {a["status"]}'
    item = doc["paths"].get(a["path"])
    if item is None or a["method"].lower() not in item:
        # An unknown endpoint answers with the shared error shape.
        if a["status"] in ("404", "405"):
            schema = doc["components"]["schemas"]["Error"]
            return [f"{where}: {e}" for e in validate(doc, schema, a["body"], validator_for)]
        return [f"{where}: not a documented operation"]
    op = item[a["method"].lower()]
    resp = op["responses"].get(a["status"])
    if resp is None:
        return [f"{where}: status {a['status']} is not documented for this operation"]
    resp = resolve(doc, resp)
    media = a["content_type"].split(";")[0].strip().lower()
    content = resp.get("content", {})
    if media not in content:
        return [f"{where}: media type {media!r} is not documented (documented: {sorted(content)})"]
    schema = content[media].get("schema")
    if schema is None or media != "application/json":
        return []
    return [f"{where}: {e}" for e in validate(doc, schema, a["body"], validator_for)]


def validate(doc, schema, body, validator_for):
    try:
        instance = json.loads(body)
    except ValueError as e:
        return [f"the body is not JSON: {e}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator_for(schema).iter_errors(instance)]


def check_answers(doc, answers):
    # Schemas refer to #/components/...: validate with the whole document
    # as the base, each schema wrapped so its $refs resolve against it.
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})

    # RefResolver is what Debian 12's python3-jsonschema (4.10) offers;
    # later releases deprecate it but keep it.
    warnings.simplefilter("ignore", DeprecationWarning)

    def validator_for(schema):
        resolver = jsonschema.RefResolver("", doc)
        return cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())

    errors, n = [], 0
    with open(answers, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                n += 1
                errors += check_answer(doc, validator_for, json.loads(line))
    if n == 0:
        errors.append(f"{answers}: no answers")
    return errors


def check_examples(doc):
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    warnings.simplefilter("ignore", DeprecationWarning)
    errors, n = [], 0
    places = [(f"{m.upper()} {p} {s}", r) for p, item in doc["paths"].items()
              for m, o in item.items() if m in METHODS for s, r in o["responses"].items()]
    places += [(f"components/responses/{k}", r) for k, r in doc["components"]["responses"].items()]
    for where, resp in places:
        for media, c in resolve(doc, resp).get("content", {}).items():
            values = [c["example"]] if "example" in c else []
            values += [e["value"] for e in c.get("examples", {}).values()]
            for v in values:
                n += 1
                v_ = cls(c["schema"], resolver=jsonschema.RefResolver("", doc))
                errors += [f"{where} {media} example: {e.message}" for e in v_.iter_errors(v)]
    if n == 0:
        errors.append("no examples")
    return errors


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("routes", "answers", "examples"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    if sys.argv[1] == "routes":
        errors = check_routes(doc, sys.argv[3])
    elif sys.argv[1] == "examples":
        errors = check_examples(doc)
    else:
        errors = check_answers(doc, sys.argv[3])
    for e in errors:
        print(f"openapi_check: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
