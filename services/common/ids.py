"""Identifiers that sort by creation time, so keys built from them list newest first."""

from __future__ import annotations

import secrets
import time
import uuid


def new_id() -> str:
    """A UUID version 7 (RFC 9562): Unix milliseconds, then random bits."""
    milliseconds = time.time_ns() // 1_000_000
    value = (
        (milliseconds & (1 << 48) - 1) << 80  # unix_ts_ms: 48 bits
        | 0x7 << 76  # version: 4 bits
        | secrets.randbits(12) << 64  # rand_a: 12 bits
        | 0b10 << 62  # variant: 2 bits
        | secrets.randbits(62)  # rand_b: 62 bits
    )
    return str(uuid.UUID(int=value))
