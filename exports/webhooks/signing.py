"""Standard Webhooks signatures: `v1,` base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")).

Secrets are `whsec_` + base64 of 32 random bytes; the key is the decoded bytes. Verified in the
tests with the `standardwebhooks` reference library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105  (a format prefix, not a secret)


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(
        _key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str) -> str:
    """Space-separated signatures, one per valid secret (two during a rotation's grace)."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)
