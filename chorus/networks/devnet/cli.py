"""``chorus devnet install|up|down|seed|status``: a real local Bluesky network, without Django.

Every sub-command prints one JSON document on standard output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from chorus.networks.devnet.manager import Devnet, DevnetError, DevnetPorts, Tools


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="chorus devnet", description=__doc__)
    parser.add_argument("command", choices=["install", "up", "down", "seed", "status"])
    defaults = DevnetPorts()
    for name in ("plc", "pds", "appview", "ozone"):
        parser.add_argument(f"--{name}-port", type=int, default=getattr(defaults, name))
    args = parser.parse_args(argv)
    ports = DevnetPorts(
        plc=args.plc_port, pds=args.pds_port, appview=args.appview_port, ozone=args.ozone_port
    )
    devnet = Devnet(ports=ports)
    try:
        result = _run(args.command, devnet)
    except DevnetError as error:
        print(json.dumps({"error": str(error)}), file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def _run(command: str, devnet: Devnet) -> Any:
    if command == "install":
        started = time.monotonic()
        Tools().install()
        return {"installed": True, "seconds": round(time.monotonic() - started, 1)}
    if command == "up":
        return asdict(devnet.up())
    if command == "down":
        return {"stopped": devnet.down()}
    if command == "seed":
        return [asdict(account) for account in devnet.seed()]
    state = devnet.status()
    return {"running": state is not None, **(state or {})}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
