"""Every entry point accepts bytes, a binary file object or a path; normalise to bytes once."""

from __future__ import annotations

import os
from typing import BinaryIO

from .errors import CorruptImage, ImageTooLarge

Source = bytes | bytearray | memoryview | BinaryIO | str | os.PathLike[str]

# Uploads are capped upstream; this stops a stream from filling memory if one is not.
MAX_FILE_BYTES = 2 * 1024**3


def read_source(source: Source, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        size = os.path.getsize(source)
        if size > max_bytes:
            raise ImageTooLarge(f"file is {size} bytes, more than the {max_bytes} allowed")
        with open(source, "rb") as fh:
            data = fh.read()
    else:
        data = source.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ImageTooLarge(f"stream is more than the {max_bytes} bytes allowed")
    if not data:
        raise CorruptImage("the file is empty")
    return data
