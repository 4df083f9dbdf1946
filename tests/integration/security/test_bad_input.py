"""Bad input never breaks the resolver Lambda: property-based fuzzing of every operation.

For each Query and Mutation field of schema.graphql, hypothesis builds argument sets from
the field's declared argument types - plausible values, real ids and usernames, random
unicode, huge strings and numbers, wrong types, missing and extra keys, nested junk - and
a caller the operation admits sends them to the real handler in-process (AppSync's event,
round-tripped through JSON as Lambda receives it). AppSync's own GraphQL validation is
deliberately skipped: the Lambda checks its input again, and this is what proves it.

Properties, for every example:
* the handler returns (an exception escaping it is an internal error: `Lambda:Unhandled`);
* the answer is JSON, and a refusal is an envelope with a documented errorType;
* a ValidationError never echoes a value the caller sent;
* a refused mutation wrote nothing (the whole table is compared before and after).

The module runs on its own table and Step Functions state machine, so the table is small
enough to compare whole and holds only this module's data.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as count_outcome
from hypothesis import strategies as st

from localcloud.cloudformation_table import ensure_table
from localcloud.dynamodb_local import DynamoDBLocal
from services.booking.definition import render
from tests.integration.security.schema_ops import operation_fields
from tests.support.api import Api, job_input, profile_input
from tests.support.appsync_events import Identity, LambdaContext, appsync_event
from tests.support.step_functions import PollingSyncExecutions, create_state_machine

pytestmark = pytest.mark.dynamodb

# docs/api.md, "Errors": every errorType a client may see from the Lambda.
DOCUMENTED_ERRORS: Final = frozenset({
    "ValidationError", "Unauthorized", "NotFound", "UsernameTaken", "EmailTaken",
    "EmailNotVerified", "AccountDeactivated", "Conflict", "AlreadyApplied", "JobNotOpen",
    "NotJobOwner", "ApplicationNotPending", "JobNotClosed", "NotJobParty", "AlreadyReviewed",
})  # fmt: skip

# Who sends each operation's fuzzed arguments: a caller the operation admits, so the input
# gets past authorization to validation and the data. Keys must equal the schema's fields.
PERMITTED: Final = {
    "getUser": "api_key",
    "listUser": "admin",
    "listAllJobs": "nanny",
    "listJobsPerParent": "admin",
    "listApplicationsPerJob": "admin",
    "listJobsAppliedTo": "admin",
    "listReviews": "api_key",
    "createUser": "newcomer",
    "updateUser": "parent",
    "updateUserStatus": "admin",
    "deleteUser": "admin",
    "createJob": "parent",
    "applyToJob": "nanny",
    "bookNanny": "parent",
    "rateUser": "parent",
}

MAX_EXAMPLES: Final = 25


# --- the module's own backends and data ----------------------------------------------------


@dataclass(frozen=True)
class Seeds:
    """Callers and real targets, so fuzzed arguments also hit existing data."""

    callers: dict[str, Identity | None]
    usernames: list[str]  # targets for reads
    victims: list[str]  # targets for deleteUser / updateUserStatus
    job_ids: list[str]
    application_ids: list[str]
    next_tokens: list[str]  # genuine tokens, issued by various lists


@dataclass(frozen=True)
class Backend:
    api: Api
    client: Any
    table_name: str
    seeds: Seeds

    def snapshot(self) -> list[str]:
        """Every item of the table, in a comparable form."""
        items: list[str] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            items.extend(json.dumps(item, sort_keys=True) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def backend(
    api: Api,
    dynamodb_local: DynamoDBLocal,
    template: dict[str, Any],
    sfn: Any,
    executions: PollingSyncExecutions,
) -> Iterator[Backend]:
    """The resolver on a table and booking state machine of its own, seeded once."""
    from services.api import dependencies
    from services.api.booking_workflow import BookingWorkflow

    (table,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    name = f"nanny-fuzz-{uuid.uuid4().hex[:8]}"
    client = dynamodb_local.client()
    ensure_table(client, table["Properties"], name)
    workflow = BookingWorkflow(
        create_state_machine(sfn, render(table_name=name)), client=executions
    )
    # Not dependencies.reset(): the session's `api` fixture has replaced booking_workflow.
    caches: tuple[Any, ...] = (dependencies.table, dependencies.users, dependencies.jobs)
    caches += (dependencies.applications, dependencies.reviews)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TABLE_NAME", name)
        patch.setattr(dependencies, "booking_workflow", lambda: workflow)
        for cached in caches:
            cached.cache_clear()
        try:
            yield Backend(api, client, name, _seed(api))
        finally:
            for cached in caches:
                cached.cache_clear()
    for cached in caches:
        cached.cache_clear()


def _seed(api: Api) -> Seeds:
    parent, nanny, admin = api.sign_up("PARENT"), api.sign_up("NANNY"), api.admin()
    victims = [api.sign_up("NANNY").username, api.sign_up("PARENT").username]
    open_job, other_job = api.post_job(parent), api.post_job(parent)
    application = api.apply(nanny, open_job["id"])
    closed = api.book(parent, api.apply(nanny, other_job["id"]))
    tokens = [
        api.call("listAllJobs", {"jobStatus": "OPEN", "limit": 1}, nanny)["nextToken"],
        api.call("listUser", {"type": "NANNY", "limit": 1}, admin)["nextToken"],
        api.call("listJobsPerParent", {"limit": 1}, parent)["nextToken"],
    ]
    return Seeds(
        callers={
            "api_key": None,
            "admin": admin,
            "parent": parent,
            "nanny": nanny,
            "newcomer": api.cognito_user(),
        },
        usernames=[parent.username, nanny.username, admin.username],
        victims=victims,
        job_ids=[open_job["id"], closed["id"]],
        application_ids=[application["id"]],
        next_tokens=[token for token in tokens if token],
    )


# --- strategies, derived from the schema's argument types ----------------------------------

# Any unicode, lone surrogates included (JSON can carry them as \ud800 escapes).
TEXT: Final = st.text(max_size=40) | st.text(st.characters(exclude_categories=()), max_size=8)
HUGE: Final = st.one_of(
    st.builds(lambda c, n: c * n, st.characters(exclude_categories=["Cs"]), st.integers(300, 9**5)),
    st.integers(min_value=2**53),
    st.integers(max_value=-(2**63)),
    st.floats(min_value=1e300, allow_infinity=False),
)  # fmt: skip
JUNK: Final = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
OPAQUE: Final = st.builds(
    lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode(), JUNK
)


# Any JSON number, including ones below DynamoDB's smallest magnitude (1E-130).
FLOATS: Final = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [5e-324, 1e-200, 1e-131, -1e-150, 2.5e-10]
)
TODAY: Final = dt.date.today()
DATE_RANGE: Final = {"dateOfBirth": (dt.date(1950, 1, 1), TODAY - dt.timedelta(days=1))}


def _scalar(type_: GraphQLScalarType, name: str, seeds: Seeds, field: str) -> Any:
    plausible: list[str] = []
    if name == "username":
        plausible = (
            seeds.victims if field in ("deleteUser", "updateUserStatus") else seeds.usernames
        )
    elif name == "jobId":
        plausible = seeds.job_ids
    elif name == "applicationId":
        plausible = seeds.application_ids
    elif name == "nextToken":
        plausible = seeds.next_tokens
    by_type: dict[str, Any] = {
        "String": mostly(st.from_regex(r"[A-Za-z][A-Za-z0-9 .'-]{0,30}", fullmatch=True), TEXT),
        "ID": st.uuids().map(str) | TEXT,
        "Int": mostly(st.integers(1, 5) if name == "rating" else st.integers(1, 20), st.integers()),
        "Float": mostly(st.floats(0.5, 80), FLOATS, 4),
        "Boolean": st.booleans(),
        "AWSDate": mostly(
            st.dates(*DATE_RANGE.get(name, (TODAY, TODAY + dt.timedelta(days=400)))).map(
                dt.date.isoformat
            ),
            st.dates().map(dt.date.isoformat) | st.from_regex(r"\d{4}-\d\d-\d\d", fullmatch=True)),
        "AWSTime": st.times().map(dt.time.isoformat)
        | st.from_regex(r"\d\d:\d\d(:\d\d)?", fullmatch=True),
        "AWSDateTime": st.datetimes().map(dt.datetime.isoformat),
        "AWSEmail": st.emails(),
        "AWSPhone": mostly(st.from_regex(r"\+[0-9]{6,15}", fullmatch=True),
                           st.from_regex(r"\+?[0-9 ()-]{1,24}", fullmatch=True)),
        "AWSURL": st.from_regex(r"https?://[a-z]{1,8}\.[a-z]{2,3}/\S{0,12}", fullmatch=True),
    }  # fmt: skip
    base = by_type.get(type_.name, TEXT)
    if name == "nextToken":  # usually the first page
        return mostly(st.none(), st.sampled_from(plausible) | base | OPAQUE, 2)
    if name == "username":
        base = mostly(st.from_regex(r"[a-z][a-z0-9]{0,20}", fullmatch=True), base)
    return mostly(st.sampled_from(plausible), base, 3) if plausible else base


def mostly(typed: Any, wild: Any, one_in: int = 8) -> Any:
    """`typed` most of the time, `wild` about once in `one_in` draws (shrinking to typed)."""
    return st.integers(0, one_in - 1).flatmap(lambda n: wild if n == one_in - 1 else typed)


WILD: Final = st.one_of(JUNK, HUGE, st.none())


def some_of(every: dict[str, Any], required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Mostly every key; else the required ones and some optional ones; rarely any subset."""
    return mostly(
        mostly(st.fixed_dictionaries(every), st.fixed_dictionaries(required, optional=optional), 2),
        st.fixed_dictionaries({}, optional=every),
    )


EXTRA_KEYS: Final = mostly(st.just({}), st.dictionaries(TEXT, JUNK, min_size=1, max_size=2))


def value_of(type_: GraphQLInputType, name: str, seeds: Seeds, field: str) -> Any:
    """A strategy for one argument or input field: mostly its type, sometimes anything."""
    if isinstance(type_, GraphQLNonNull):
        return value_of(type_.of_type, name, seeds, field)
    if isinstance(type_, GraphQLList):
        item = value_of(type_.of_type, name, seeds, field)
        typed: Any = mostly(st.lists(item, max_size=4), st.lists(item, min_size=21, max_size=30))
    elif isinstance(type_, GraphQLEnumType):
        typed = mostly(st.sampled_from(list(type_.values)), TEXT)
    elif isinstance(type_, GraphQLInputObjectType):
        fields = {n: value_of(f.type, n, seeds, field) for n, f in type_.fields.items()}
        required = {
            n: s for n, s in fields.items() if isinstance(type_.fields[n].type, GraphQLNonNull)
        }
        optional = {n: s for n, s in fields.items() if n not in required}
        typed = st.builds(
            lambda known, extra: {**extra, **known},
            some_of(fields, required, optional),
            EXTRA_KEYS,
        )  # fmt: skip
    else:
        assert isinstance(type_, GraphQLScalarType)
        typed = _scalar(type_, name, seeds, field)
    return mostly(typed, WILD)


def arguments_of(field_name: str, seeds: Seeds) -> Any:
    """All of the field's arguments, any of them missing, plus unknown extra ones."""
    _, field = operation_fields()[field_name]
    args = {name: value_of(arg.type, name, seeds, field_name) for name, arg in field.args.items()}
    required = {n: s for n, s in args.items() if isinstance(field.args[n].type, GraphQLNonNull)}
    optional = {n: s for n, s in args.items() if n not in required}
    return st.builds(
        lambda known, extra: {**extra, **known},
        some_of(args, required, optional),
        EXTRA_KEYS,
    )  # fmt: skip


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# --- the tests ---------------------------------------------------------------------------


def test_every_operation_has_a_fuzzing_caller() -> None:
    """A field added to schema.graphql without a row here fails the suite."""
    assert set(PERMITTED) == set(operation_fields())


@pytest.mark.parametrize("field_name", list(PERMITTED))
def test_bad_input_gets_a_value_or_a_domain_error_and_writes_nothing(
    field_name: str, backend: Backend
) -> None:
    """Fuzzed arguments from an admitted caller: the handler answers (never raises), with
    JSON or a documented error envelope that echoes no input; a refused mutation leaves the
    table as it was."""
    from services.api.handler import handler

    root, _ = operation_fields()[field_name]
    caller = backend.seeds.callers[PERMITTED[field_name]]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: against live backends it can take minutes; the failure message
        # carries the arguments, and the deterministic tests below give minimal cases.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(arguments=arguments_of(field_name, backend.seeds))
    def check(arguments: dict[str, Any]) -> None:
        event = json.loads(json.dumps(appsync_event(root, field_name, arguments, caller)))
        before = backend.snapshot() if root == "Mutation" else None
        try:
            result = handler(event, LambdaContext())
        except Exception as error:  # any escape is the defect under test
            pytest.fail(f"{field_name}({arguments!r}) raised {error!r}")
        json.dumps(result)  # what Lambda must serialize
        if not (isinstance(result, dict) and result.get("errorType")):
            count_outcome("ok")  # --hypothesis-show-statistics: how deep the examples got
            return
        count_outcome(str(result["errorType"]))
        assert result["errorType"] in DOCUMENTED_ERRORS, result
        if result["errorType"] == "ValidationError":
            echoed = json.dumps([result["errorMessage"], result.get("errorInfo")])
            leaked = [s for s in strings_in(arguments) if len(s) >= 12 and s in echoed]
            assert not leaked, f"ValidationError echoes input {leaked!r}: {result!r}"
        if before is not None:
            assert backend.snapshot() == before, f"refused {field_name} wrote: {result!r}"

    check()


# Valid arguments to start from, for operations whose input holds a Float somewhere.
BASELINES: Final[dict[str, dict[str, Any]]] = {
    "createUser": {"user": {"type": "NANNY", **profile_input()}},
    "updateUser": {"user": {"about": "Changed."}},
    "createJob": {"job": job_input()},
}
TOO_SMALL: Final = (1e-200, 1e-131)  # below DynamoDB's 1E-130: one the encoder, one AWS refuses


def float_cases() -> list[Any]:
    """(operation, arguments) with one Float of a valid baseline set too close to zero, for
    every Float argument or input field the schema declares."""
    cases: list[Any] = []
    for name, (_, field) in operation_fields().items():
        for arg_name, arg in field.args.items():
            type_ = arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type
            paths: list[tuple[str, ...]] = []
            if isinstance(type_, GraphQLScalarType) and type_.name == "Float":
                paths.append((arg_name,))
            if isinstance(type_, GraphQLInputObjectType):
                paths += [
                    (arg_name, f)
                    for f, spec in type_.fields.items()
                    if getattr(spec.type, "of_type", spec.type) == GraphQLFloat
                ]
            for path in paths:
                assert name in BASELINES, f"{name}.{'.'.join(path)} is a Float: add a baseline"
                for tiny in TOO_SMALL:
                    arguments = json.loads(json.dumps(BASELINES[name]))
                    *parents, leaf = path
                    target = arguments
                    for part in parents:
                        target = target[part]
                    target[leaf] = tiny
                    cases.append(
                        pytest.param(name, arguments, id=f"{name}-{'.'.join(path)}-{tiny}")
                    )
    return cases


@pytest.mark.parametrize(("field_name", "arguments"), float_cases())
def test_a_float_dynamodb_cannot_store_is_a_validation_error(
    field_name: str, arguments: dict[str, Any], backend: Backend
) -> None:
    """A Float inside the model's range but closer to zero than DynamoDB's 1E-130 (GraphQL
    and JSON carry it fine) is refused as a ValidationError, not an internal error."""
    from services.api.handler import handler

    root, _ = operation_fields()[field_name]
    caller = backend.api.cognito_user() if field_name == "createUser" else None
    if caller is None:
        caller = backend.seeds.callers[PERMITTED[field_name]]
    event = json.loads(json.dumps(appsync_event(root, field_name, arguments, caller)))
    before = backend.snapshot()
    try:
        result = handler(event, LambdaContext())
    except Exception as error:  # the defect under test
        pytest.fail(f"{field_name}({arguments!r}) raised {error!r}")
    assert isinstance(result, dict), result
    assert result.get("errorType") == "ValidationError", result
    assert backend.snapshot() == before
