"""A Dramatiq worker module for the killed-worker story: the real actors, with each render slowed
down (so a SIGKILL lands mid-render) and each stored output logged (so "stored once" can be
counted across processes). Started as `python -m dramatiq tests.exports.slow_worker`."""

from __future__ import annotations

import os
import time
from typing import Any

from render_worker import actors  # noqa: F401  (sets Django up and declares the actors)

from exports import rendering, services  # isort: skip

_DELAY = float(os.environ.get("ORLUME_TEST_RENDER_DELAY", "0"))
_LOG = os.environ.get("ORLUME_TEST_WRITE_LOG", "")
_develop = rendering.develop
_store = services.store_output


def _slow_develop(*args: Any, **kwargs: Any) -> Any:
    time.sleep(_DELAY)
    return _develop(*args, **kwargs)


def _logged_store(key: str, data: bytes) -> None:
    _store(key, data)
    if _LOG:
        with open(_LOG, "a") as fh:  # one short O_APPEND write per line: never interleaved
            fh.write(f"{key}\n")


rendering.develop = _slow_develop
services.store_output = _logged_store
