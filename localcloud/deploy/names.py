"""Physical names, ids and ARNs, generated like CloudFormation's but stable.

CloudFormation names an unnamed resource ``<stack>-<logicalId>-<random>``. Here the last
part is a hash of the stack name and logical id instead, so every deployment of the same
template (after a restart, without the previous deployment record, on another machine)
gets the same queue, topic, rule, state machine and table names.
"""

from __future__ import annotations

import hashlib
import string
import uuid

__all__ = [
    "ArnParts",
    "generated_name",
    "parse_arn",
    "stable_id",
    "stable_token",
    "stable_uuid",
]

_UPPER = string.ascii_uppercase + string.digits
_LOWER = string.ascii_lowercase + string.digits


def stable_token(*parts: str, length: int = 12, lower: bool = False) -> str:
    """`length` letters and digits derived from `parts` (same parts, same token)."""
    alphabet = _LOWER if lower else _UPPER
    number = int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest(), "big")
    token = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        token.append(alphabet[index])
    return "".join(token)


def stable_uuid(*parts: str) -> str:
    """A UUID derived from `parts`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "localcloud:" + ":".join(parts)))


def stable_id(*parts: str, length: int = 26) -> str:
    """A lowercase id (AppSync API ids and the like) derived from `parts`."""
    return stable_token(*parts, length=length, lower=True)


def generated_name(
    stack_name: str,
    logical_id: str,
    max_length: int,
    *,
    suffix: str = "",
    with_stack: bool = True,
) -> str:
    """``<stack>-<logicalId>-<TOKEN><suffix>`` cut to `max_length`, as CloudFormation does.

    The prefix is shortened first, so the token (and a `.fifo` suffix) always survive.
    """
    token = stable_token(stack_name, logical_id)
    prefix = f"{stack_name}-{logical_id}" if with_stack else logical_id
    room = max_length - len(token) - len(suffix) - 1
    if room < 1:
        return f"{token}{suffix}"[-max_length:]
    return f"{prefix[:room].rstrip('-')}-{token}{suffix}"


class ArnParts:
    """The parts of an ARN: ``arn:partition:service:region:account:resource``."""

    def __init__(self, arn: str) -> None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ValueError(f"not an ARN: {arn!r}")
        self.arn = arn
        _, self.partition, self.service, self.region, self.account, self.resource = parts

    @property
    def resource_type(self) -> str:
        """``event-bus`` of ``event-bus/name``, ``function`` of ``function:name``."""
        for separator in ("/", ":"):
            if separator in self.resource:
                return self.resource.split(separator, 1)[0]
        return ""

    @property
    def resource_id(self) -> str:
        """``name`` of ``event-bus/name``; the whole resource when it has no type."""
        for separator in ("/", ":"):
            if separator in self.resource:
                return self.resource.split(separator, 1)[1]
        return self.resource


def parse_arn(arn: str) -> ArnParts | None:
    """The parts of `arn`, or None if it is not an ARN."""
    try:
        return ArnParts(arn)
    except ValueError:
        return None
