"""Validate a live GBFS feed set against the official JSON Schemas of its versions.

Starting from the given URLs (discovery files, gbfs_versions.json, manifest.json), fetch
every file they link to (gbfs.json feeds, gbfs_versions versions, manifest datasets,
system_information.manifest_url), validate each against ``<specs>/<version>/<name>.json``
with jsonschema's Draft 7 validator and format checking (date-time, uri, email, date), and
apply the cross-file rules MobilityData's gbfs-validator adds to the schemas:

* every vehicle has a ``vehicle_type_id`` that vehicle_types.json defines (when it exists);
* vehicles of a motorised type have ``current_range_meters``;
* ``default_pricing_plan_id`` / ``pricing_plan_ids`` name plans of system_pricing_plans.json.

Prints one JSON document ``{"files": [{url, name, version, status, errors}], "errors": n}``
and exits 1 when any file is invalid, 2 on bad usage or a missing format checker.

Used by tests/tests/suite/gbfs.rs (the specs are the unmodified copies in tests/specs/gbfs/).
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

from jsonschema import Draft7Validator

NEEDED_FORMATS = ("date-time", "uri", "email", "date")


def fetch(url):
    """(status, content type, parsed body or None, error text or None)."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            raw = response.read()
            status = response.status
            ctype = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), None, f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        return None, "", None, f"cannot fetch: {err}"
    try:
        return status, ctype, json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return status, ctype, None, f"not UTF-8 JSON: {err}"


def name_of(url):
    base = url.rstrip("/").rsplit("/", 1)[-1]
    return base[:-5] if base.endswith(".json") else base


class Crawl:
    def __init__(self, specs):
        self.specs = specs
        self.validators = {}
        self.files = []
        self.docs = {}  # (version, name) -> body
        self.seen = set()

    def validator(self, version, name):
        key = (version, name)
        if key not in self.validators:
            path = os.path.join(self.specs, version, name + ".json")
            if not os.path.exists(path):
                return None
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            Draft7Validator.check_schema(schema)
            self.validators[key] = Draft7Validator(
                schema, format_checker=Draft7Validator.FORMAT_CHECKER
            )
        return self.validators[key]

    def visit(self, url, name, expect_version=None):
        if url in self.seen:
            return
        self.seen.add(url)
        status, ctype, body, error = fetch(url)
        entry = {"url": url, "name": name, "version": None, "status": status, "errors": []}
        self.files.append(entry)
        if error:
            entry["errors"].append(error)
            return
        if status != 200:
            entry["errors"].append(f"status {status}")
        if not ctype.startswith("application/json"):
            entry["errors"].append(f"Content-Type {ctype!r}")
        version = body.get("version") if isinstance(body, dict) else None
        entry["version"] = version
        if expect_version and version != expect_version:
            entry["errors"].append(f"version {version!r}, linked as {expect_version!r}")
        validator = self.validator(str(version), name)
        if validator is None:
            entry["errors"].append(f"no schema for {name} in version {version!r}")
            return
        for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in err.absolute_path)
            entry["errors"].append(f"/{path}: {err.message}")
        self.docs[(version, name)] = body
        try:
            self.follow(name, version, body)
        except (AttributeError, KeyError, TypeError) as err:
            entry["errors"].append(f"cannot follow its links: {err!r}")

    def follow(self, name, version, body):
        data = body.get("data", {})
        if name == "gbfs":
            groups = [data] if version.startswith("3.") else list(data.values())
            for group in groups:
                for feed in group.get("feeds", []):
                    self.visit(feed["url"], feed["name"], version)
        elif name == "gbfs_versions":
            for v in data.get("versions", []):
                self.visit(v["url"], "gbfs", v["version"])
        elif name == "manifest":
            for dataset in data.get("datasets", []):
                for v in dataset.get("versions", []):
                    self.visit(v["url"], "gbfs", v["version"])
        elif name == "system_information" and "manifest_url" in data:
            self.visit(data["manifest_url"], "manifest", version)

    def cross_file(self):
        """The rules gbfs-validator patches into the schemas, per version."""
        for version in sorted({v for v, _ in self.docs}):
            types_doc = self.docs.get((version, "vehicle_types"))
            plans_doc = self.docs.get((version, "system_pricing_plans"))
            status_name = "vehicle_status" if version.startswith("3.") else "free_bike_status"
            status_doc = self.docs.get((version, status_name))
            problems = []
            types = {}
            if types_doc:
                types = {t["vehicle_type_id"]: t for t in types_doc["data"]["vehicle_types"]}
            plans = set()
            if plans_doc:
                plans = {p["plan_id"] for p in plans_doc["data"]["plans"]}
                for t in types.values():
                    for plan in [t.get("default_pricing_plan_id")] + t.get("pricing_plan_ids", []):
                        if plan is not None and plan not in plans:
                            problems.append(f"vehicle type {t['vehicle_type_id']}: unknown plan {plan}")
            if status_doc:
                key = "vehicles" if version.startswith("3.") else "bikes"
                for v in status_doc["data"][key]:
                    vid = v.get("vehicle_id", v.get("bike_id"))
                    tid = v.get("vehicle_type_id")
                    if types_doc and tid not in types:
                        problems.append(f"vehicle {vid}: vehicle_type_id {tid!r} not in vehicle_types")
                    t = types.get(tid)
                    if t and t["propulsion_type"] != "human" and "current_range_meters" not in v:
                        problems.append(f"vehicle {vid}: motorised, no current_range_meters")
                    if plans_doc and v.get("pricing_plan_id", next(iter(plans), None)) not in plans:
                        problems.append(f"vehicle {vid}: unknown plan {v['pricing_plan_id']}")
            if problems:
                self.files.append(
                    {"url": None, "name": "cross-file rules", "version": version,
                     "status": None, "errors": problems}
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", required=True, help="folder with <version>/<name>.json")
    parser.add_argument("urls", nargs="+", help="entry URLs (gbfs.json, gbfs_versions.json, ...)")
    args = parser.parse_args()
    missing = [f for f in NEEDED_FORMATS if f not in Draft7Validator.FORMAT_CHECKER.checkers]
    if missing:
        print(f"format checks unavailable: {missing} (install tests/python/requirements.txt)",
              file=sys.stderr)
        return 2
    crawl = Crawl(args.specs)
    for url in args.urls:
        crawl.visit(url, name_of(url))
    crawl.cross_file()
    errors = sum(len(f["errors"]) for f in crawl.files)
    print(json.dumps({"files": crawl.files, "errors": errors}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
