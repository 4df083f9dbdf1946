from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router

from services.api import dependencies
from services.api.logic import users
from services.api.models.inputs import (
    CreateUserArguments,
    ListUserArguments,
    UpdateUserArguments,
    UpdateUserStatusArguments,
    UsernameArguments,
)
from services.api.observability import count
from services.api.routers.shaping import answer_page, caller_of
from services.api.validation import parse_arguments

router = Router()


@router.resolver(type_name="Mutation", field_name="createUser")
def create_user(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(CreateUserArguments, arguments)
    user = users.create_user(caller, args.user, dependencies.users(), dependencies.accounts())
    count("SignUp")
    return users.present_user(user, caller)


@router.resolver(type_name="Mutation", field_name="updateUser")
def update_user(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(UpdateUserArguments, arguments)
    return users.present_user(users.update_user(caller, args.user, dependencies.users()), caller)


@router.resolver(type_name="Mutation", field_name="updateUserStatus")
def update_user_status(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(UpdateUserStatusArguments, arguments)
    user = users.update_user_status(
        caller, args.username, args.status, dependencies.users(), dependencies.accounts()
    )
    return users.present_user(user, caller)


@router.resolver(type_name="Mutation", field_name="deleteUser")
def delete_user(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(UsernameArguments, arguments)
    user = users.delete_user(caller, args.username, dependencies.users(), dependencies.accounts())
    return users.present_user(user, caller)


@router.resolver(type_name="Query", field_name="getUser")
def get_user(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(UsernameArguments, arguments)
    return users.present_user(users.get_user(args.username, dependencies.users()), caller)


@router.resolver(type_name="Query", field_name="listUser")
def list_user(**arguments: Any) -> dict[str, Any]:
    caller = caller_of(router)
    args = parse_arguments(ListUserArguments, arguments)
    page = users.list_users(caller, args.type, args.page, dependencies.users())
    return answer_page(page, lambda user: users.present_user(user, caller))
