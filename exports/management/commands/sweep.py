"""The periodic sweep as its own process (production): `manage.py sweep [--once]`.

Re-sends export jobs whose message was lost, re-queues jobs whose worker's lease expired, fails
jobs past their attempts or deadline (with the reason), finishes batches and sweeps webhook
deliveries. Several sweepers may run at once: every change is a conditional update.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exports.services import Sweeper


class Command(BaseCommand):
    help = "Run the export/webhook sweep every EXPORT_SWEEP_INTERVAL_SECONDS (or once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        sweeper = Sweeper(opts["interval"])
        if opts["once"]:
            self.stdout.write(str(sweeper.once()))
            return
        signal.signal(signal.SIGTERM, lambda *_: sweeper.stop())
        self.stderr.write(f"sweeping every {sweeper.interval:g} s")
        with contextlib.suppress(KeyboardInterrupt):
            sweeper.run_forever()
