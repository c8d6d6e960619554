"""Validate a live /openapi.json and run schemathesis against the API it describes.

Usage: contract_openapi.py --base URL --token TOKEN [--max-examples N] [--seed N]
       [--exclude-path PATH ...] [--include-path-regex RE] [--known FILE]

1. openapi-spec-validator checks the document against the OpenAPI 3.1 schema.
2. schemathesis generates requests from the document (valid and invalid data) and checks
   every answer: no 5xx, a documented status code, a documented content type, headers
   and a body that match the documented response; and that an operation documented as
   needing the bearer token refuses a request without it (`ignored_auth`).
3. With --known: requests for resources that exist (a ride, a command, a trace…), which
   generated ids never hit, each answered 200 and checked the same way. FILE is a JSON
   list of {"token", "method", "path", "path_parameters"?, "query"?}.

Prints what it did; exits non-zero on the first step that fails.
"""

import argparse
import json
import subprocess
import sys
import urllib.request

import schemathesis
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
    ]
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", default="all")
    parser.add_argument("--exclude-path", action="append", default=[])
    parser.add_argument("--include-path-regex")
    parser.add_argument("--known")
    args = parser.parse_args()

    url = args.base + "/openapi.json"
    with urllib.request.urlopen(url, timeout=10) as response:
        spec = json.load(response)
    validate(spec)
    print(f"openapi-spec-validator: {url} is a valid OpenAPI {spec['openapi']} document "
          f"({len(spec['paths'])} paths)", flush=True)

    command = [
        sys.executable, "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "run", url,
        "--header", f"Authorization: Bearer {args.token}",
        "--checks", CHECKS,
        "--mode", args.mode,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        # One worker: with two, schemathesis parses lambdas' source (hypothesis's
        # descriptions) in two threads at once, and Python 3.11 before 3.11.8 can then fail
        # with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905, a
        # race fixed in 3.11.8). The machines have 3.11.7; this run failed so once.
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--suppress-health-check", "all",
        "--warnings", "off",
        "--no-color",
    ]
    for path in args.exclude_path:
        command += ["--exclude-path", path]
    if args.include_path_regex:
        command += ["--include-path-regex", args.include_path_regex]
    status = subprocess.run(command, check=False).returncode
    if status != 0 or not args.known:
        return status
    return known(args.base, url, args.known)


def known(base: str, url: str, path: str) -> int:
    """Request each known resource; 200 and a response that keeps to the document."""
    with open(path, encoding="utf-8") as file:
        cases = json.load(file)
    schema = schemathesis.openapi.from_url(url)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    failed = 0
    for entry in cases:
        operation = schema[entry["path"]][entry["method"]]
        case = operation.Case(
            path_parameters=entry.get("path_parameters") or {},
            query=entry.get("query") or {},
        )
        headers = {"Authorization": f"Bearer {entry['token']}"}
        response = case.call(base_url=base, headers=headers)
        name = f"{entry['method']} {case.formatted_path}"
        try:
            case.validate_response(response, checks=checks, headers=headers)
            if response.status_code != 200:
                raise AssertionError(f"status {response.status_code}: {response.text[:500]}")
        # schemathesis reports its failures as a FailureGroup (a BaseExceptionGroup).
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - all reported
            failed += 1
            print(f"known: {name}: FAILED\n{error}", flush=True)
            continue
        print(f"known: {name}: 200, keeps to the document", flush=True)
    print(f"known resources kept to the document: {len(cases) - failed} of {len(cases)}",
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
