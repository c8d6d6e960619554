"""Validate live MDS 2.0 provider endpoints against the official OpenAPI models.

Fetches each given path (relative to --base, e.g. ``/mds/vehicles``) with the provider
token and ``Accept: application/vnd.mds+json;version=2.0``, follows ``links.next`` of paged
answers, and validates every ``200`` body against the response schema its operation has in
``<specs>/reference/provider.yaml`` (JSON Schema 2020-12, with format checks), resolving the
models' relative ``$ref``s from ``<specs>/models``. The answer's Content-Type must be the MDS
media type.

The copied schemas have known defects (``<specs>/SOURCE.txt``); they are patched in memory
here, never in the copies:

1. ``models/{event,vehicle,trip}.yaml`` take ``oneOf`` over the four modes, whose schemas
   overlap, so valid micromobility payloads fail: the ``oneOf`` is replaced by the
   micromobility branch alone.
2. ``models/modes/micromobility/event.yaml``'s trip_ids rule is not valid 2020-12 and never
   fires: replaced by the working rule from SOURCE.txt (trip events need >= 1 trip id).

Prints ``{"responses": [{path, status, content_type, errors}], "errors": n}`` and exits 1
when any response is invalid. Used by tests/tests/suite/mds.rs.
"""

import argparse
import json
import pathlib
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

MEDIA_TYPE = "application/vnd.mds+json;version=2.0"
MODES = ("micromobility", "car-share", "delivery-robots", "passenger-services")
TRIP_EVENTS = [
    "trip_cancel",
    "trip_end",
    "trip_enter_jurisdiction",
    "trip_leave_jurisdiction",
    "trip_start",
]


def replace_mode_one_of(node):
    """Replace a oneOf over the mode files by the micromobility one (defect 1)."""
    if isinstance(node, dict):
        one_of = node.get("oneOf")
        if isinstance(one_of, list) and one_of and all(
            isinstance(b, dict) and any(f"/{m}/" in b.get("$ref", "") for m in MODES)
            for b in one_of
        ):
            micro = [b for b in one_of if "/micromobility/" in b["$ref"]]
            del node["oneOf"]
            node["allOf"] = node.get("allOf", []) + micro
        for value in node.values():
            replace_mode_one_of(value)
    elif isinstance(node, list):
        for value in node:
            replace_mode_one_of(value)


def load(specs, path):
    contents = yaml.safe_load(path.read_text())
    rel = path.relative_to(specs).as_posix()
    if rel in ("models/event.yaml", "models/vehicle.yaml", "models/trip.yaml"):
        replace_mode_one_of(contents)
    if rel == "models/modes/micromobility/event.yaml":
        contents["if"] = {"properties": {"event_types": {"contains": {"enum": TRIP_EVENTS}}}}
        contents["then"] = {
            "required": ["trip_ids"],
            "properties": {"trip_ids": {"minItems": 1}},
        }
    return contents


def registry(specs):
    def retrieve(uri):
        path = pathlib.Path(urllib.parse.urlparse(uri).path)
        return Resource.from_contents(load(specs, path), default_specification=DRAFT202012)

    return Registry(retrieve=retrieve)


def operations(specs):
    """[(regex of the path under /mds, schema of its 200 answer or None)]."""
    provider = yaml.safe_load((specs / "reference/provider.yaml").read_text())
    out = []
    for template, item in provider["paths"].items():
        ok = item.get("get", {}).get("responses", {}).get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema")
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        out.append((re.compile(pattern), schema, "{" in template))
    # Literal paths first: /vehicles/status is not /vehicles/{device_id}.
    return [(rx, schema) for rx, schema, templated in sorted(out, key=lambda o: o[2])]


def fetch(url, token):
    request = urllib.request.Request(
        url, headers={"Accept": MEDIA_TYPE, "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--specs", required=True, type=pathlib.Path)
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    specs = args.specs.resolve()
    reg = registry(specs)
    provider_uri = (specs / "reference/provider.yaml").as_uri()
    ops = operations(specs)
    report = []
    queue = [args.base + p for p in args.paths]
    seen = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        status, ctype, raw = fetch(url, args.token)
        path = urllib.parse.urlparse(url).path
        entry = {"path": url[len(args.base):], "status": status, "content_type": ctype}
        errors = []
        if ctype.replace(" ", "") != MEDIA_TYPE:
            errors.append(f"Content-Type {ctype!r}, not {MEDIA_TYPE}")
        try:
            body = json.loads(raw)
        except ValueError as err:
            body = None
            errors.append(f"not JSON: {err}")
        entry["body"] = body
        if status == 200 and body is not None:
            under = path[len("/mds"):] if path.startswith("/mds") else path
            schema = next((s for rx, s in ops if rx.match(under)), None)
            if schema is None:
                errors.append(f"no operation of provider.yaml matches {under}")
            else:
                wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "$id": provider_uri, **schema}
                validator = Draft202012Validator(
                    wrapped, registry=reg, format_checker=Draft202012Validator.FORMAT_CHECKER
                )
                for err in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
                    where = "/".join(str(p) for p in err.absolute_path)
                    errors.append(f"{where}: {err.message[:300]}")
            nxt = (body.get("links") or {}).get("next") if isinstance(body, dict) else None
            if nxt:
                queue.append(nxt)
        entry["errors"] = errors
        report.append(entry)
    total = sum(len(r["errors"]) for r in report)
    print(json.dumps({"responses": report, "errors": total}))
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
