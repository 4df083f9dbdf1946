"""createUser, updateUser, updateUserStatus, deleteUser, getUser, listUser."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.api import Api, ApiError, profile_input
from tests.support.appsync_events import Identity

pytestmark = pytest.mark.dynamodb

PRIVATE = ("lastName", "email", "phoneNumber", "dateOfBirth", "address", "latitude", "longitude",
           "status", "updatedOn")  # fmt: skip


def get_user(api: Api, username: str, caller: Identity | None = None) -> dict[str, Any]:
    user: dict[str, Any] = api.call("getUser", {"username": username}, caller or api.admin())
    return user


class TestCreateUser:
    def test_creates_the_callers_profile_and_puts_them_in_their_group(self, api: Api) -> None:
        newcomer = api.cognito_user()
        user = api.call("createUser", {"user": {"type": "NANNY", **profile_input()}}, newcomer)
        assert user["username"] == newcomer.username
        assert user["type"] == "NANNY"
        assert user["status"] == "UNVERIFIED"
        assert user["ratingCount"] == 0
        assert user["averageRating"] is None
        assert "ownerSub" not in user
        assert api.groups_of(newcomer.username) == {"nanny"}
        # The email is the account's verified one, never an argument.
        assert get_user(api, newcomer.username)["email"] == f"{newcomer.username}@example.org"

    def test_api_key_callers_cannot_sign_up(self, api: Api) -> None:
        args = {"user": {"type": "PARENT", **profile_input()}}
        assert api.error("createUser", args, None) == "Unauthorized"

    def test_an_unverified_email_is_refused_and_nothing_is_written(self, api: Api) -> None:
        newcomer = api.cognito_user(email_verified=False)
        args = {"user": {"type": "NANNY", **profile_input()}}
        assert api.error("createUser", args, newcomer) == "EmailNotVerified"
        assert api.error("getUser", {"username": newcomer.username}, api.admin()) == "NotFound"
        assert api.groups_of(newcomer.username) == set()

    def test_a_retry_with_the_same_details_completes_the_sign_up(self, api: Api) -> None:
        newcomer = api.cognito_user()
        user = {"type": "PARENT", **profile_input()}
        first = api.call("createUser", {"user": user}, newcomer)
        again = api.call("createUser", {"user": user}, newcomer)
        assert again["createdOn"] == first["createdOn"]
        assert api.groups_of(newcomer.username) == {"parent"}

    def test_changing_type_by_signing_up_again_is_refused(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        again = {"type": "PARENT", **profile_input()}
        assert api.error("createUser", {"user": again}, nanny) == "UsernameTaken"
        assert api.groups_of(nanny.username) == {"nanny"}

    def test_an_email_can_belong_to_one_profile_only_whatever_its_case(self, api: Api) -> None:
        first = api.sign_up("PARENT")
        second = api.cognito_user(email=f"{first.username.upper()}@EXAMPLE.org")
        args = {"user": {"type": "NANNY", **profile_input()}}
        assert api.error("createUser", args, second) == "EmailTaken"
        assert api.error("getUser", {"username": second.username}, api.admin()) == "NotFound"
        assert api.groups_of(second.username) == set()

    def test_a_new_account_reusing_a_deleted_accounts_username_owns_nothing(self, api: Api) -> None:
        """Cognito frees a deleted account's username; the profile is the old person's."""
        old = api.sign_up("NANNY")
        api.delete_account(old.username)
        new = api.cognito_account(old.username, "nanny")
        assert new.sub != old.sub
        seen = api.call("getUser", {"username": old.username}, new)
        assert all(seen[field] is None for field in PRIVATE)
        assert api.error("updateUser", {"user": {"city": "Leeds"}}, new) == "NotFound"
        assert api.error("deleteUser", {"username": old.username}, new) == "Unauthorized"
        args = {"user": {"type": "NANNY", **profile_input()}}
        assert api.error("createUser", args, new) == "UsernameTaken"
        assert get_user(api, old.username)["city"] == "London"

    @pytest.mark.parametrize(
        "change",
        [
            {"dateOfBirth": "2999-01-01"},
            {"latitude": 91},
            {"profilePicUrl": "javascript:alert(1)"},
            {"firstName": "   "},
            {"type": "ADMIN"},
            {"email": "someone@example.org"},  # the account's verified email is used
            {"status": "VERIFIED"},  # the server decides the status
            {"username": "someone-else"},  # identity comes from the token
        ],
    )
    def test_bad_input_is_a_validation_error_and_writes_nothing(
        self, api: Api, change: dict[str, Any]
    ) -> None:
        newcomer = api.cognito_user()
        user = {"type": "NANNY", **profile_input(), **change}
        assert api.error("createUser", {"user": user}, newcomer) == "ValidationError"
        assert api.error("getUser", {"username": newcomer.username}, api.admin()) == "NotFound"
        assert api.groups_of(newcomer.username) == set()

    def test_validation_errors_name_the_field_without_echoing_its_value(self, api: Api) -> None:
        newcomer = api.cognito_user()
        user = {"type": "NANNY", **profile_input(), "phoneNumber": "secret-value"}
        with pytest.raises(ApiError) as refused:
            api.call("createUser", {"user": user}, newcomer)
        assert refused.value.error_type == "ValidationError"
        assert "user.phoneNumber" in refused.value.message
        assert "secret-value" not in repr(refused.value)


class TestUpdateUser:
    def test_changes_only_the_fields_sent(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        updated = api.call("updateUser", {"user": {"city": "Leeds", "hourlyRate": 15.5}}, nanny)
        assert (updated["city"], updated["hourlyRate"]) == ("Leeds", 15.5)
        assert updated["firstName"] == "Ada"
        assert updated["updatedOn"] is not None

    def test_an_explicit_null_clears_an_optional_field(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        assert api.call("updateUser", {"user": {"about": None}}, nanny)["about"] is None

    @pytest.mark.parametrize(
        "change",
        [{"email": "x@example.org"}, {"type": "PARENT"}, {"status": "VERIFIED"},
         {"username": "other"}, {"firstName": None}, {}],
    )  # fmt: skip
    def test_identity_and_status_fields_cannot_be_changed(
        self, api: Api, change: dict[str, Any]
    ) -> None:
        nanny = api.sign_up("NANNY")
        assert api.error("updateUser", {"user": change}, nanny) == "ValidationError"
        assert get_user(api, nanny.username)["type"] == "NANNY"

    def test_without_a_profile_is_not_found(self, api: Api) -> None:
        assert api.error("updateUser", {"user": {"city": "York"}}, api.cognito_user()) == "NotFound"

    def test_api_key_is_refused(self, api: Api) -> None:
        assert api.error("updateUser", {"user": {"city": "York"}}, None) == "Unauthorized"


class TestUpdateUserStatus:
    def test_admins_verify_accounts(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        result = api.call(
            "updateUserStatus", {"username": nanny.username, "status": "VERIFIED"}, api.admin()
        )
        assert result["status"] == "VERIFIED"
        assert get_user(api, nanny.username)["status"] == "VERIFIED"

    @pytest.mark.parametrize("kind", ["PARENT", "NANNY", "self", "api_key"])
    def test_nobody_else_may(self, api: Api, kind: str) -> None:
        nanny = api.sign_up("NANNY")
        caller = nanny if kind == "self" else api.caller(kind)
        args = {"username": nanny.username, "status": "VERIFIED"}
        assert api.error("updateUserStatus", args, caller) == "Unauthorized"
        assert get_user(api, nanny.username)["status"] == "UNVERIFIED"

    def test_unknown_user_is_not_found(self, api: Api) -> None:
        args = {"username": "nobody-here", "status": "VERIFIED"}
        assert api.error("updateUserStatus", args, api.admin()) == "NotFound"

    def test_deactivation_takes_the_group_away_until_reactivation(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        admin = api.admin()
        api.call("updateUserStatus", {"username": nanny.username, "status": "DEACTIVATED"}, admin)
        assert api.groups_of(nanny.username) == set()
        # Signing up again does not give the group back.
        args = {"user": {"type": "NANNY", **profile_input()}}
        assert api.error("createUser", args, nanny) == "AccountDeactivated"
        assert api.groups_of(nanny.username) == set()
        api.call("updateUserStatus", {"username": nanny.username, "status": "VERIFIED"}, admin)
        assert api.groups_of(nanny.username) == {"nanny"}


class TestDeleteUser:
    def test_users_delete_themselves_and_free_their_email(self, api: Api) -> None:
        parent = api.sign_up("PARENT")
        deleted = api.call("deleteUser", {"username": parent.username}, parent)
        assert deleted["username"] == parent.username
        assert api.error("getUser", {"username": parent.username}, None) == "NotFound"
        assert api.groups_of(parent.username) == set()
        reuse = api.cognito_user(email=f"{parent.username}@example.org")
        created = api.call("createUser", {"user": {"type": "NANNY", **profile_input()}}, reuse)
        assert created["email"] == f"{parent.username}@example.org"

    def test_admins_delete_anyone(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        api.call("deleteUser", {"username": nanny.username}, api.admin())
        assert api.error("getUser", {"username": nanny.username}, None) == "NotFound"

    @pytest.mark.parametrize("kind", ["PARENT", "NANNY", "api_key"])
    def test_others_may_not(self, api: Api, kind: str) -> None:
        nanny = api.sign_up("NANNY")
        caller = api.caller(kind)
        assert api.error("deleteUser", {"username": nanny.username}, caller) == "Unauthorized"
        assert get_user(api, nanny.username)["username"] == nanny.username

    def test_unknown_user_is_not_found(self, api: Api) -> None:
        assert api.error("deleteUser", {"username": "nobody-here"}, api.admin()) == "NotFound"


class TestGetUser:
    def test_api_key_callers_see_public_fields_only(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        user = api.call("getUser", {"username": nanny.username}, None)
        assert user["firstName"] == "Ada"
        assert user["city"] == "London"
        assert all(user[field] is None for field in PRIVATE)

    def test_other_signed_in_users_see_public_fields_only(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        user = api.call("getUser", {"username": nanny.username}, api.sign_up("PARENT"))
        assert all(user[field] is None for field in PRIVATE)

    @pytest.mark.parametrize("kind", ["self", "admin"])
    def test_the_user_and_admins_see_everything(self, api: Api, kind: str) -> None:
        nanny = api.sign_up("NANNY")
        caller = nanny if kind == "self" else api.admin()
        user = api.call("getUser", {"username": nanny.username}, caller)
        assert user["email"] == f"{nanny.username}@example.org"
        assert user["phoneNumber"] == "+44 20 7946 0000"
        assert user["dateOfBirth"] == "1990-12-10"
        assert "ratingSum" not in user

    def test_unknown_user_is_not_found(self, api: Api) -> None:
        assert api.error("getUser", {"username": "nobody-here"}, None) == "NotFound"

    def test_any_username_cognito_accepts_works_as_an_argument(self, api: Api) -> None:
        account = api.cognito_account(f"o'brien#{uuid.uuid4().hex[:6]}")
        api.call("createUser", {"user": {"type": "NANNY", **profile_input()}}, account)
        owner = Identity(account.username, ("nanny",), account.sub)
        assert get_user(api, account.username, owner)["username"] == account.username
        api.call("deleteUser", {"username": account.username}, owner)
        assert api.error("getUser", {"username": account.username}, None) == "NotFound"


class TestListUser:
    def test_admins_page_through_every_user_of_a_type(self, api: Api) -> None:
        created = {api.sign_up("PARENT").username for _ in range(3)}
        seen: list[str] = []
        token = None
        while True:
            args = {"type": "PARENT", "limit": 2, **({"nextToken": token} if token else {})}
            page = api.call("listUser", args, api.admin())
            assert len(page["items"]) <= 2
            seen += [user["username"] for user in page["items"]]
            token = page["nextToken"]
            if token is None:
                break
        assert created <= set(seen)
        assert len(seen) == len(set(seen))
        assert all(
            user["type"] == "PARENT"
            for user in api.call("listUser", {"type": "PARENT"}, api.admin())["items"]
        )

    def test_parents_browse_nannies_without_their_private_fields(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        parent = api.sign_up("PARENT")
        items = api.call("listUser", {"type": "NANNY", "limit": 100}, parent)["items"]
        listed = next(user for user in items if user["username"] == nanny.username)
        assert all(listed[field] is None for field in PRIVATE)

    @pytest.mark.parametrize(
        ("kind", "user_type"),
        [("PARENT", "PARENT"), ("NANNY", "NANNY"), ("NANNY", "PARENT"), ("api_key", "NANNY"),
         ("newcomer", "NANNY")],
    )  # fmt: skip
    def test_others_are_refused(self, api: Api, kind: str, user_type: str) -> None:
        caller = api.caller(kind)
        assert api.error("listUser", {"type": user_type}, caller) == "Unauthorized"

    @pytest.mark.parametrize("limit", [0, 101, -1])
    def test_limit_is_bounded(self, api: Api, limit: int) -> None:
        assert (
            api.error("listUser", {"type": "NANNY", "limit": limit}, api.admin())
            == "ValidationError"
        )

    def test_a_token_is_valid_only_for_its_own_list(self, api: Api) -> None:
        api.sign_up("PARENT")
        api.sign_up("PARENT")
        token = api.call("listUser", {"type": "PARENT", "limit": 1}, api.admin())["nextToken"]
        assert token is not None
        args = {"type": "NANNY", "nextToken": token}
        assert api.error("listUser", args, api.admin()) == "ValidationError"
        garbage = {"type": "NANNY", "nextToken": "not base64 json!"}
        assert api.error("listUser", garbage, api.admin()) == "ValidationError"
