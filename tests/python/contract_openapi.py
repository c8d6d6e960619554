"""Validate a live /openapi.json and run schemathesis against the API it describes.

Usage: contract_openapi.py --base URL --token TOKEN [--max-examples N] [--seed N]
       [--exclude-path PATH ...]

1. openapi-spec-validator checks the document against the OpenAPI 3.1 schema.
2. schemathesis generates requests from the document (valid and invalid data) and checks
   every answer: no 5xx, a documented status code, a documented content type, headers
   and a body that match the documented response; and that an operation documented as
   needing the bearer token refuses a request without it (`ignored_auth`).

Prints what it did; exits non-zero on the first step that fails.
"""

import argparse
import json
import subprocess
import sys
import urllib.request

from openapi_spec_validator import validate

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
        "--workers", "2",
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
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
