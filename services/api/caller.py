"""Who is calling: taken from the AppSync identity (the verified token), never from input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.errors import Unauthorized

ADMIN = "admin"
PARENT = "parent"
NANNY = "nanny"


@dataclass(frozen=True)
class Caller:
    """A signed-in user (username, Cognito ``sub`` and groups) or an API-key caller.

    The username names the user's items; the ``sub`` tells this account from a later one
    that reuses a deleted account's username.

    >>> Caller.from_identity({"username": "ann", "groups": ["parent"]}).require_group(PARENT)
    'ann'
    """

    username: str | None
    groups: frozenset[str] = frozenset()
    sub: str | None = None

    @classmethod
    def from_identity(cls, identity: Mapping[str, Any] | None) -> Caller:
        """Build from AppSync's ``identity``: None for API key, a dict for Cognito."""
        if not identity or not identity.get("username"):
            return cls(username=None)
        # AppSync sends null, not [], for a user in no group.
        return cls(
            username=identity["username"],
            groups=frozenset(identity.get("groups") or ()),
            sub=identity.get("sub"),
        )

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.groups

    def require_signed_in(self) -> str:
        if self.username is None:
            raise Unauthorized("Sign in to do this.")
        return self.username

    def require_group(self, *groups: str) -> str:
        username = self.require_signed_in()
        if not self.groups.intersection(groups):
            raise Unauthorized(f"Only {' or '.join(groups)} users may do this.")
        return username

    def owns(self, username: str, owner_sub: str | None) -> bool:
        """This caller is the account that created the profile ``username``."""
        return self.username == username and self.sub is not None and self.sub == owner_sub

    def is_owner_or_admin(self, username: str, owner_sub: str | None) -> bool:
        return self.is_admin or self.owns(username, owner_sub)
