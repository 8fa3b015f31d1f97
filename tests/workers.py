"""In-process Dramatiq workers for tests, removed from the broker when they stop.

`Worker.stop()` leaves the worker's own middleware on the (process-global) broker; a later queue
declaration would then give the stopped worker a consumer that takes messages nobody handles.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import dramatiq
from dramatiq import Worker


@contextlib.contextmanager
def running_worker(broker: dramatiq.Broker, **options: Any) -> Iterator[Worker]:
    before = list(broker.middleware)
    worker = Worker(broker, **options)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        broker.middleware[:] = [m for m in broker.middleware if m in before]
