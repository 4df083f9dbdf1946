"""Users and the email-uniqueness guard."""

from __future__ import annotations

from typing import Any

from services.common.dal import keys
from services.common.dal.table import ConditionFailed, PageRequest, Table, TransactionCancelled
from services.common.errors import EmailTaken, NotFound, UsernameTaken
from services.common.models import Page, User, UserAccountStatus, UserType, utc_now


def _user_item(user: User) -> dict[str, Any]:
    return {
        **user.model_dump(mode="json", by_alias=True),
        **keys.key(keys.user_pk(user.username)),
        "entity": keys.EntityName.USER,
        "GSI2PK": keys.users_by_type_pk(user.type),
        "GSI2SK": keys.user_pk(user.username),
    }


class UserRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, user: User) -> None:
        """Write the profile and claim its email in one transaction: both unique or neither."""
        guard = {
            **keys.key(keys.email_pk(user.email)),
            "entity": keys.EntityName.USER_EMAIL,
            "username": user.username,
        }
        try:
            self.table.transact(
                [
                    self.table.put_action(_user_item(user), condition="attribute_not_exists(PK)"),
                    self.table.put_action(guard, condition="attribute_not_exists(PK)"),
                ]
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                raise UsernameTaken("A profile already exists for this username.") from None
            raise EmailTaken("Another profile already uses this email address.") from None

    def get(self, username: str) -> User | None:
        item = self.table.get(keys.key(keys.user_pk(username)))
        return User.model_validate(item) if item else None

    def update_profile(
        self, username: str, changes: dict[str, Any], *, owner_sub: str | None
    ) -> User:
        """Set the given attributes (camelCase names); a None value removes the attribute.

        Only the account that created the profile may: a later account reusing the
        username finds nothing (NotFound), as if the profile did not exist.
        """
        sets = {name: value for name, value in changes.items() if value is not None}
        removals = [name for name, value in changes.items() if value is None]
        names = {f"#a{i}": name for i, name in enumerate(changes)}
        placeholder = {name: alias for alias, name in names.items()}
        sets["updatedOn"] = utc_now().isoformat()
        names["#updatedOn"] = "updatedOn"
        placeholder["updatedOn"] = "#updatedOn"
        update = "SET " + ", ".join(f"{placeholder[name]} = :{name}" for name in sets)
        if removals:
            update += " REMOVE " + ", ".join(placeholder[name] for name in removals)
        values = {f":{name}": value for name, value in sets.items()}
        values[":owner"] = owner_sub
        return self._update(
            username,
            update=update,
            names=names,
            values=values,
            condition="attribute_exists(PK) AND ownerSub = :owner",
        )

    def set_status(self, username: str, status: UserAccountStatus) -> User:
        return self._update(
            username,
            update="SET #status = :status, updatedOn = :now",
            names={"#status": "status"},
            values={":status": status, ":now": utc_now().isoformat()},
            condition="attribute_exists(PK)",
        )

    def _update(
        self,
        username: str,
        *,
        update: str,
        names: dict[str, str],
        values: dict[str, Any],
        condition: str,
    ) -> User:
        try:
            item = self.table.update(
                keys.key(keys.user_pk(username)),
                update=update,
                names=names,
                values=values,
                condition=condition,
            )
        except ConditionFailed:
            raise NotFound("No profile exists for this username.") from None
        return User.model_validate(item)

    def delete(self, user: User) -> None:
        """Delete the profile and release its email, only if both are still the ones read
        (same account, same email), so a concurrent re-creation is never deleted."""
        try:
            self.table.transact(
                [
                    self.table.delete_action(
                        keys.key(keys.user_pk(user.username)),
                        condition="attribute_exists(PK) AND email = :email AND ownerSub = :owner",
                        values={":email": user.email, ":owner": user.owner_sub},
                    ),
                    self.table.delete_action(
                        keys.key(keys.email_pk(user.email)),
                        condition="username = :username",
                        values={":username": user.username},
                    ),
                ]
            )
        except TransactionCancelled:
            raise NotFound("No profile exists for this username.") from None

    def list_by_type(self, user_type: UserType, page: PageRequest) -> Page[User]:
        items, next_token = self.table.query(
            index=keys.JOBS_APPLIED_TO_INDEX,
            partition=("GSI2PK", keys.users_by_type_pk(user_type)),
            page=page,
        )
        return Page(items=[User.model_validate(item) for item in items], next_token=next_token)
