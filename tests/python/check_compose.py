"""Check docker-compose.yml against the code: valid YAML, every fleetlog service runs a
subcommand the binary has, and the binary accepts every service's environment.

Usage: check_compose.py <docker-compose.yml> <fleetlog binary>
Prints one line per service and exits non-zero on the first inconsistency.
"""

import os
import re
import subprocess
import sys

import yaml


def subcommands(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    section = out.split("Commands:", 1)[1].split("Options:", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\s{2}([a-z-]+)\s", section, re.M)}


def main():
    compose_path, binary = sys.argv[1], sys.argv[2]
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    known = subcommands(binary)
    checked = 0
    for name, service in compose["services"].items():
        if service.get("image") != "fleetlog:latest":
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        command = service.get("command") or []
        if command and command[0] not in known:
            sys.exit(f"{name}: `fleetlog {command[0]}` is not a subcommand ({sorted(known)})")
        entry = " ".join(service.get("entrypoint") or [])
        for sub in re.findall(r"fleetlog ([a-z-]+)", entry):
            if sub not in known:
                sys.exit(f"{name}: entrypoint runs unknown `fleetlog {sub}`")
        # The binary must accept the service's environment (unknown FLEETLOG_* keys fail).
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FLEETLOG_")}
        for k in ("DATABASE_URL", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"):
            clean.pop(k, None)
        result = subprocess.run([binary, "config"], env={**clean, **env},
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{name}: fleetlog rejects its environment: {result.stderr.strip()}")
        checked += 1
        print(f"compose service {name}: `fleetlog {' '.join(command) or entry}` ok")
    if checked == 0:
        sys.exit("no fleetlog services found in the compose file")


if __name__ == "__main__":
    main()
