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


def test_ownership_is_the_account_not_just_the_username() -> None:
    ann = Caller("ann", frozenset(), sub="sub-1")
    assert ann.owns("ann", "sub-1")
    assert not ann.owns("ann", "sub-of-an-earlier-ann")
    assert not ann.owns("bob", "sub-1")
    assert not Caller("ann", frozenset()).owns("ann", None)  # no sub, no ownership
    assert Caller("root", frozenset({ADMIN})).is_owner_or_admin("bob", "sub-2")
    assert not Caller(None).is_owner_or_admin("bob", "sub-2")


def test_the_sub_comes_from_the_identity() -> None:
    assert Caller.from_identity({"username": "ann", "sub": "s-1", "groups": None}).sub == "s-1"
