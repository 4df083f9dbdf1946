from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router

from services.api import dependencies
from services.api.logic import reviews
from services.api.models.inputs import RateUserArguments, UsernamePage
from services.api.observability import count
from services.api.routers.shaping import answer, answer_page, caller_of
from services.api.validation import parse_arguments

router = Router()


@router.resolver(type_name="Mutation", field_name="rateUser")
def rate_user(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(RateUserArguments, arguments)
    review = reviews.rate_user(
        caller_of(router),
        args.job_id,
        args.rating,
        args.review,
        dependencies.jobs(),
        dependencies.reviews(),
    )
    count("Review")
    return answer(review)


@router.resolver(type_name="Query", field_name="listReviews")
def list_reviews(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(UsernamePage, arguments)
    return answer_page(
        reviews.list_reviews(args.username, args.page, dependencies.reviews()), answer
    )
