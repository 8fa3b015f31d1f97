#!/usr/bin/env python
"""`manage.py check --deploy` with production variables set; fails on any warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "ci-" + "x7Qp2!zL9#rT4@wB8$eN1%uM6^aH3&kD5*jF0(gS" * 2,
    "ALLOWED_HOSTS": "orlume.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://orlume.example.com",
    "DATABASE_URL": "postgres://orlume@db.invalid:5432/orlume",
    "REDIS_URL": "redis://cache.invalid:6379/0",
    "BROKER_URL": "redis://cache.invalid:6379/1",
    "S3_BUCKET": "orlume-media",
    "S3_ENDPOINT_URL": "https://s3.invalid",
}


def main() -> int:
    env = {**os.environ, **PRODUCTION_ENV}
    return subprocess.call(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
    )


if __name__ == "__main__":
    sys.exit(main())
