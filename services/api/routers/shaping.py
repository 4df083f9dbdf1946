"""From the AppSync event to the logic's arguments, and from its results to the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router
from pydantic import BaseModel

from services.api.caller import Caller
from services.common.models import Page

T = TypeVar("T")


def caller_of(router: Router) -> Caller:
    event = router.current_event
    if event is None:
        raise RuntimeError("a resolver ran outside an AppSync request")
    return Caller.from_identity(event.raw_event.get("identity"))


def answer(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def answer_page(page: Page[T], present: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [present(item) for item in page.items], "nextToken": page.next_token}
