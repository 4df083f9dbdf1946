"""The resolvers' AWS-backed collaborators, built once per Lambda container (warm reuse)."""

from __future__ import annotations

from functools import cache

from services.api.accounts import Accounts, CognitoAccounts
from services.api.booking_workflow import BookingWorkflow
from services.common.dal.applications import ApplicationRepository
from services.common.dal.jobs import JobRepository
from services.common.dal.reviews import ReviewRepository
from services.common.dal.table import Table
from services.common.dal.users import UserRepository


@cache
def table() -> Table:
    return Table.from_environment()


@cache
def users() -> UserRepository:
    return UserRepository(table())


@cache
def jobs() -> JobRepository:
    return JobRepository(table())


@cache
def applications() -> ApplicationRepository:
    return ApplicationRepository(table())


@cache
def reviews() -> ReviewRepository:
    return ReviewRepository(table())


@cache
def accounts() -> Accounts:
    return CognitoAccounts.from_environment()


@cache
def booking_workflow() -> BookingWorkflow:
    return BookingWorkflow.from_environment()


def reset() -> None:
    """Forget every client (tests point the environment at another endpoint)."""
    for factory in (table, users, jobs, applications, reviews, accounts, booking_workflow):
        factory.cache_clear()
