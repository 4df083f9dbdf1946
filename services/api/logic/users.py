"""Profiles: sign-up, edits, status, deletion, lookups and listings."""

from __future__ import annotations

from typing import Any

from services.api.accounts import Accounts
from services.api.caller import PARENT, Caller
from services.api.models.inputs import CreateUserInput, UpdateUserInput
from services.common.dal.table import PageRequest
from services.common.dal.users import UserRepository
from services.common.errors import (
    AccountDeactivated,
    EmailNotVerified,
    NotFound,
    Unauthorized,
    UsernameTaken,
)
from services.common.models import Page, User, UserAccountStatus, UserType, utc_now

# What anyone (even an API-key caller) may read; everything else only the user and admins.
PUBLIC_FIELDS = frozenset(
    {"username", "type", "firstName", "about", "city", "profilePicUrl", "languages",
     "hourlyRate", "averageRating", "ratingCount", "createdOn"}
)  # fmt: skip


def present_user(user: User, caller: Caller) -> dict[str, Any]:
    """The profile as this caller may see it: private fields are null for other people."""
    shown = user.model_dump(mode="json", by_alias=True, exclude={"rating_sum", "owner_sub"})
    shown["averageRating"] = user.average_rating
    if caller.is_owner_or_admin(user.username, user.owner_sub):
        return shown
    return {name: value if name in PUBLIC_FIELDS else None for name, value in shown.items()}


def create_user(
    caller: Caller, data: CreateUserInput, users: UserRepository, accounts: Accounts
) -> User:
    """Create the caller's profile and put them in their type's Cognito group.

    The email is the account's verified email (Cognito's word, not an argument). Safe to
    retry: if this account's profile exists with the same type (a retry after the group
    step failed), the group step is completed and the profile returned. The client
    refreshes its token afterwards so that it carries the new group.
    """
    username = caller.require_signed_in()
    email = accounts.verified_email(username)
    if email is None:
        raise EmailNotVerified("Verify your account's email address, then create the profile.")
    user = User(
        username=username,
        email=email,
        owner_sub=caller.sub,
        created_on=utc_now(),
        status=UserAccountStatus.UNVERIFIED,
        **data.model_dump(exclude_none=True),
    )
    try:
        users.create(user)
    except UsernameTaken:
        existing = users.get(username)
        if not existing or not caller.owns(username, existing.owner_sub):
            raise
        if existing.type != user.type:
            raise
        if existing.status is UserAccountStatus.DEACTIVATED:
            raise AccountDeactivated("This account is deactivated.") from None
        user = existing
    accounts.add_to_group(username, user.type.group)
    return user


def update_user(caller: Caller, data: UpdateUserInput, users: UserRepository) -> User:
    username = caller.require_signed_in()
    return users.update_profile(username, data.changes(), owner_sub=caller.sub)


def update_user_status(
    caller: Caller,
    username: str,
    status: UserAccountStatus,
    users: UserRepository,
    accounts: Accounts,
) -> User:
    """Set an account's status. Deactivating takes the user out of their group and signs
    them out everywhere; reactivating puts them back."""
    if not caller.is_admin:
        raise Unauthorized("Only admins may change an account's status.")
    user = users.set_status(username, status)
    if status is UserAccountStatus.DEACTIVATED:
        accounts.remove_from_group(username, user.type.group)
        accounts.sign_out_everywhere(username)
    else:
        accounts.add_to_group(username, user.type.group)
    return user


def delete_user(caller: Caller, username: str, users: UserRepository, accounts: Accounts) -> User:
    """Delete a profile: admins any, users their own.

    The group goes first: a failure after it leaves a profile that a retry deletes,
    never a group membership without a profile that no retry could reach.
    """
    caller.require_signed_in()
    user = get_user(username, users)
    if not caller.is_owner_or_admin(user.username, user.owner_sub):
        raise Unauthorized("You may delete only your own profile.")
    accounts.remove_from_group(username, user.type.group)
    users.delete(user)
    return user


def get_user(username: str, users: UserRepository) -> User:
    user = users.get(username)
    if user is None:
        raise NotFound("No profile exists for this username.")
    return user


def list_users(
    caller: Caller, user_type: UserType, page: PageRequest, users: UserRepository
) -> Page[User]:
    """Admins list either type; parents browse nannies."""
    if not caller.is_admin:
        caller.require_group(PARENT)
        if user_type is not UserType.NANNY:
            raise Unauthorized("Parents may list nannies only.")
    return users.list_by_type(user_type, page)
