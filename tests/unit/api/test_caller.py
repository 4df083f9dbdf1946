from __future__ import annotations

import pytest

from services.api.caller import ADMIN, NANNY, PARENT, Caller
from services.common.errors import Unauthorized


def test_api_key_callers_have_no_identity() -> None:
    caller = Caller.from_identity(None)
    assert caller.username is None
    with pytest.raises(Unauthorized):
        caller.require_signed_in()


def test_cognito_identity_gives_username_and_groups() -> None:
    caller = Caller.from_identity({"username": "ann", "groups": ["parent"], "sub": "s"})
    assert caller.require_group(PARENT, ADMIN) == "ann"
    with pytest.raises(Unauthorized, match="nanny"):
        caller.require_group(NANNY)


def test_appsync_sends_null_groups_for_a_user_in_no_group() -> None:
    caller = Caller.from_identity({"username": "ann", "groups": None})
    assert caller.groups == frozenset()
    assert caller.require_signed_in() == "ann"


def test_self_or_admin() -> None:
    assert Caller("ann", frozenset()).is_self_or_admin("ann")
    assert not Caller("ann", frozenset({PARENT})).is_self_or_admin("bob")
    assert Caller("root", frozenset({ADMIN})).is_self_or_admin("bob")
    assert not Caller(None).is_self_or_admin("bob")
