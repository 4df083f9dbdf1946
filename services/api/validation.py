"""Turning raw GraphQL arguments into validated models, or a typed ValidationError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from services.common.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)


def parse_arguments(model: type[M], arguments: Mapping[str, Any]) -> M:
    """Validate ``arguments``; the error names each bad field but never echoes its value.

    >>> parse_arguments(RateUserArguments, {"jobId": "...", "rating": 9})
    Traceback (most recent call last):
    ValidationError: rating: Input should be less than or equal to 5
    """
    try:
        return model.model_validate(dict(arguments))
    except pydantic.ValidationError as error:
        problems = error.errors(include_input=False, include_url=False, include_context=False)
        fields = [
            {"field": ".".join(str(part) for part in problem["loc"]), "message": problem["msg"]}
            for problem in problems
        ]
        summary = "; ".join(
            f"{field['field']}: {field['message']}" if field["field"] else field["message"]
            for field in fields
        )
        raise ValidationError(summary, info={"fields": fields}) from None
