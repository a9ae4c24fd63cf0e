"""The ``chorus`` console command.

``chorus nlp …`` and ``chorus devnet …`` run plain libraries directly (no Django start-up,
for a fast cold start); every other sub-command is a Django management command (``chorus run``, ``chorus worker``,
``chorus demo``, ``chorus migrate``, …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Training a workspace's heads reads its corrections from the database: that needs Django.
    needs_database = (
        args[:2] == ["nlp", "train"] and "--workspace" in args and "--corrections" not in args
    )
    if args[:1] == ["nlp"] and not needs_database:
        from chorus.nlp.cli import main as nlp_main

        return nlp_main(args[1:])
    if args[:1] == ["devnet"]:
        from chorus.networks.devnet.cli import main as devnet_main

        return devnet_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["chorus", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
