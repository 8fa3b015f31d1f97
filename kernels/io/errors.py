"""Typed failures of image I/O. The web layer maps each `code` to a clear 4xx."""

from __future__ import annotations


class ImageIOError(Exception):
    """Base of every failure this package raises on bad input; `code` is stable for clients."""

    code = "image_io_error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedFormat(ImageIOError):
    code = "unsupported_format"
    http_status = 415


class CorruptImage(ImageIOError):
    code = "corrupt_image"
    http_status = 422


class ImageTooLarge(ImageIOError):
    code = "image_too_large"
    http_status = 413
