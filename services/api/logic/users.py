"""Profiles: sign-up, edits, status, deletion, lookups and listings."""

from __future__ import annotations

from typing import Any

from services.api.caller import PARENT, Caller
from services.api.models.inputs import CreateUserInput, UpdateUserInput
from services.api.user_groups import UserGroups
from services.common.dal.table import PageRequest
from services.common.dal.users import UserRepository
from services.common.errors import NotFound, Unauthorized, UsernameTaken
from services.common.models import Page, User, UserAccountStatus, UserType, utc_now

# What anyone (even an API-key caller) may read; everything else only the user and admins.
PUBLIC_FIELDS = frozenset(
    {"username", "type", "firstName", "about", "city", "profilePicUrl", "languages",
     "hourlyRate", "averageRating", "ratingCount", "createdOn"}
)  # fmt: skip


def present_user(user: User, caller: Caller) -> dict[str, Any]:
    """The profile as this caller may see it: private fields are null for other people."""
    shown = user.model_dump(mode="json", by_alias=True, exclude={"rating_sum"})
    shown["averageRating"] = user.average_rating
    if caller.is_self_or_admin(user.username):
        return shown
    return {name: value if name in PUBLIC_FIELDS else None for name, value in shown.items()}


def create_user(
    caller: Caller, data: CreateUserInput, users: UserRepository, groups: UserGroups
) -> User:
    """Create the caller's profile and put them in their type's Cognito group.

    Safe to retry: if the profile exists with the same type and email (a retry after the
    group step failed), the group step is completed and the profile returned. The client
    refreshes its token afterwards so that it carries the new group.
    """
    username = caller.require_signed_in()
    user = User(
        username=username,
        created_on=utc_now(),
        status=UserAccountStatus.UNVERIFIED,
        **data.model_dump(exclude_none=True),
    )
    try:
        users.create(user)
    except UsernameTaken:
        existing = users.get(username)
        if not existing or (existing.type, existing.email.lower()) != (
            user.type,
            user.email.lower(),
        ):
            raise
        user = existing
    groups.add(username, user.type.group)
    return user


def update_user(caller: Caller, data: UpdateUserInput, users: UserRepository) -> User:
    return users.update_profile(caller.require_signed_in(), data.changes())


def update_user_status(
    caller: Caller, username: str, status: UserAccountStatus, users: UserRepository
) -> User:
    if not caller.is_admin:
        raise Unauthorized("Only admins may change an account's status.")
    return users.set_status(username, status)


def delete_user(caller: Caller, username: str, users: UserRepository, groups: UserGroups) -> User:
    caller.require_signed_in()
    if not caller.is_self_or_admin(username):
        raise Unauthorized("You may delete only your own profile.")
    user = get_user(username, users)
    users.delete(user)
    groups.remove(username, user.type.group)
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
