"""Execute GraphQL requests against an AppSync schema as AppSync does, minus the network.

    api = AppSyncApi(
        schema_sdl,
        invoke=lambda function, event: ...,           # e.g. a Lambda-worker invoker
        resolvers={("Query", "getUser"): "ApiFunction", ...},
        authenticator=Authenticator(user_pool=pool, api_keys=["da2-..."]),
    )
    response = api.handle_http(body, headers, client_ip="127.0.0.1")  # status + JSON body

Each field in `resolvers` is resolved by invoking its function with the event AppSync's
APPSYNC_JS resolver (`stacks/appsync/invoke_api_function.js`) sends: `arguments`,
`identity`, `source`, `request`, `info`, `prev`, `stash`. The answer is read as that
resolver does: a dict with a truthy `errorType` becomes a GraphQL error of that type (with
`errorInfo`), anything else is the field's value; an invocation failure becomes a
`Lambda:Unhandled` error. Every other field resolves from its parent's value by name.
Before any field resolves, its auth directives are checked against the caller.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLFieldResolver,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
    build_schema,
    default_field_resolver,
    execute_sync,
    parse,
    print_ast,
    validate,
)

from localcloud.appsync.auth import (
    AuthenticationError,
    Authenticator,
    AuthMode,
    FieldAuthorization,
    Principal,
)
from localcloud.appsync.scalars import install_aws_scalars, with_appsync_prelude

__all__ = [
    "LAMBDA_UNHANDLED",
    "AppSyncApi",
    "FieldError",
    "HttpResponse",
    "Invoker",
    "ResolverInvocationError",
    "build_appsync_schema",
]

log = logging.getLogger(__name__)

Invoker = Callable[[str, dict[str, Any]], Any]
"""invoke(function_key, event) -> the function's answer; raises when the invocation fails."""

LAMBDA_UNHANDLED: Final = "Lambda:Unhandled"
MALFORMED_REQUEST: Final = "MalformedHttpRequestException"
UNAUTHORIZED_EXCEPTION: Final = "UnauthorizedException"
# AppSync caps a request at 1 MB of query and variables; refuse bodies well past that.
MAX_BODY_BYTES: Final = 5 * 1024 * 1024
# Query texts whose parsed and validated document is kept, and the longest one kept. Apps
# send a few fixed query texts (with variables), and graphql-core's validation of one costs
# milliseconds of this process's one GIL, shared with the edge router and moto: more than
# the rest of a request here. Validation depends on the schema and the text only.
DOCUMENT_CACHE_SIZE: Final = 256
MAX_CACHED_QUERY_CHARS: Final = 64 * 1024


class ResolverInvocationError(Exception):
    """An invoker's way to report a failed invocation (the function raised, timed out,
    crashed). AppSync reports it as `ctx.error`, which the resolver raises with its type:
    `Lambda:Unhandled` for a function error. Any other exception an invoker raises is
    reported the same way, with its str() as the message."""

    def __init__(self, message: str, error_type: str = LAMBDA_UNHANDLED) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


class FieldError(Exception):
    """The error AppSync raises for one field (`util.error(message, type, data, info)`)."""

    def __init__(self, error_type: str, message: str, error_info: Any = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.error_info = error_info


@dataclass(frozen=True)
class HttpResponse:
    """What the HTTP endpoint answers: a status and a JSON body."""

    status: int
    body: dict[str, Any]
    request_id: str = ""

    def json_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class _RequestContext:
    """Per-request facts every resolver needs (graphql-core's context_value)."""

    principal: Principal
    headers: Mapping[str, str]
    source_ips: Sequence[str]
    variables: Mapping[str, Any]
    fragments: Mapping[str, FragmentDefinitionNode]
    identity: dict[str, Any] | None = field(default=None)


def build_appsync_schema(schema_sdl: str) -> GraphQLSchema:
    """graphql-core schema of an AppSync SDL: AWS scalars and directives declared and
    implemented."""
    schema = build_schema(with_appsync_prelude(schema_sdl))
    install_aws_scalars(schema)
    return schema


# --- AppSync's error shapes --------------------------------------------------------------


def _locations(error: GraphQLError) -> list[dict[str, Any]]:
    return [
        {"line": location.line, "column": location.column, "sourceName": None}
        for location in error.locations or ()
    ]


def format_error(error: GraphQLError) -> dict[str, Any]:
    """One entry of `errors`, shaped as AppSync's."""
    if error.path is None:
        # Request-level errors (syntax, validation, variables): AppSync gives no type.
        return {"path": None, "locations": _locations(error) or None, "message": error.message}
    original = error.original_error
    error_type = original.error_type if isinstance(original, FieldError) else None
    error_info = original.error_info if isinstance(original, FieldError) else None
    return {
        "path": list(error.path),
        "data": None,
        "errorType": error_type,
        "errorInfo": error_info,
        "locations": _locations(error),
        "message": error.message,
    }


def _request_error(status: int, error_type: str, message: str, request_id: str) -> HttpResponse:
    return HttpResponse(
        status, {"errors": [{"errorType": error_type, "message": message}]}, request_id
    )


# --- the `info` of the Lambda event ------------------------------------------------------


def _selection_paths(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    prefix: str = "",
) -> list[str]:
    """AppSync's selectionSetList: `a`, `a/b`, ... by alias where aliased, fragments
    flattened."""
    paths: list[str] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            paths.append(prefix + name)
            paths += _selection_paths(selection.selection_set, fragments, f"{prefix}{name}/")
        elif isinstance(selection, InlineFragmentNode):
            paths += _selection_paths(selection.selection_set, fragments, prefix)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                paths += _selection_paths(fragment.selection_set, fragments, prefix)
    return paths


def _inline_fragments(
    selections: Iterable[SelectionNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> SelectionSetNode:
    """The selections with named fragment spreads written out as inline fragments, so the
    printed selection set stands alone (selectionSetGraphQL)."""
    result: list[SelectionNode] = []
    for selection in selections:
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            result.append(
                InlineFragmentNode(
                    type_condition=fragment.type_condition,
                    directives=selection.directives,
                    selection_set=_inline_fragments(fragment.selection_set.selections, fragments),
                )
            )
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            nested = _inline_fragments(selection.selection_set.selections, fragments)
            if isinstance(selection, FieldNode):
                result.append(
                    FieldNode(
                        alias=selection.alias,
                        name=selection.name,
                        arguments=selection.arguments,
                        directives=selection.directives,
                        selection_set=nested,
                    )
                )
            else:
                result.append(
                    InlineFragmentNode(
                        type_condition=selection.type_condition,
                        directives=selection.directives,
                        selection_set=nested,
                    )
                )
        else:
            result.append(selection)
    return SelectionSetNode(selections=tuple(result))


def event_info(
    info: GraphQLResolveInfo[_RequestContext], context: _RequestContext
) -> dict[str, Any]:
    """`ctx.info` for the field being resolved."""
    selections = [
        selection
        for node in info.field_nodes
        if node.selection_set
        for selection in node.selection_set.selections
    ]
    merged = SelectionSetNode(selections=tuple(selections))
    return {
        "fieldName": info.field_name,
        "parentTypeName": info.parent_type.name,
        "variables": dict(context.variables),
        "selectionSetList": list(dict.fromkeys(_selection_paths(merged, context.fragments))),
        "selectionSetGraphQL": (
            print_ast(_inline_fragments(selections, context.fragments)) if selections else ""
        ),
    }


# --- the API -----------------------------------------------------------------------------


class AppSyncApi:
    """An AppSync GraphQL API: schema, auth modes, and a Lambda function per resolved field.

    `resolvers` maps (type name, field name) to the key `invoke` is called with (the local
    cloud derives it from the template's AWS::AppSync::Resolver resources, see
    `localcloud.graphql_endpoint.resolver_functions_from_template`).
    """

    def __init__(
        self,
        schema_sdl: str,
        *,
        invoke: Invoker,
        resolvers: Mapping[tuple[str, str], str],
        authenticator: Authenticator,
        default_mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS,
        domain_name: str | None = None,
    ) -> None:
        self.schema = build_appsync_schema(schema_sdl)
        self.invoke = invoke
        self.resolvers = dict(resolvers)
        self.authenticator = authenticator
        self.authorization = FieldAuthorization(self.schema, default_mode)
        self.domain_name = domain_name
        unknown = [key for key in self.resolvers if not self._has_field(*key)]
        if unknown:
            raise ValueError(f"resolvers for fields the schema does not have: {unknown}")
        self._install_resolvers()
        self._cached_document = functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(
            self._parse_and_validate
        )

    def _has_field(self, type_name: str, field_name: str) -> bool:
        type_ = self.schema.type_map.get(type_name)
        return isinstance(type_, GraphQLObjectType) and field_name in type_.fields

    def _install_resolvers(self) -> None:
        for type_name, type_ in self.schema.type_map.items():
            if type_name.startswith("__") or not isinstance(type_, GraphQLObjectType):
                continue
            for field_name, field_ in type_.fields.items():
                field_.resolve = self._field_resolver(type_name, field_name)

    def _field_resolver(self, type_name: str, field_name: str) -> GraphQLFieldResolver:
        rules = self.authorization.rules(type_name, field_name)
        function = self.resolvers.get((type_name, field_name))
        denied = f"Not Authorized to access {field_name} on type {type_name}"

        def resolve(
            source: Any, info: GraphQLResolveInfo[_RequestContext], **arguments: Any
        ) -> Any:
            context = info.context
            # Checked before resolving, so a refused field never reaches its function.
            if not any(rule.admits(context.principal) for rule in rules):
                raise FieldError("Unauthorized", denied)
            if function is None:
                return default_field_resolver(source, info, **arguments)
            return self._invoke(function, source, info, arguments, context)

        return resolve

    def _invoke(
        self,
        function: str,
        source: Any,
        info: GraphQLResolveInfo[_RequestContext],
        arguments: dict[str, Any],
        context: _RequestContext,
    ) -> Any:
        event = {
            "arguments": arguments,
            # A copy per invocation: an in-process invoker may change what it is given.
            "identity": copy.deepcopy(context.identity),
            "source": source,
            "request": {"headers": dict(context.headers), "domainName": self.domain_name},
            "info": event_info(info, context),
            "prev": None,  # unit resolvers: no previous pipeline function
            "stash": {},
        }
        try:
            result = self.invoke(function, event)
        except ResolverInvocationError as error:
            raise FieldError(error.error_type, error.message) from error
        except Exception as error:
            log.exception(
                "resolver %s.%s: invoking %s failed",
                info.parent_type.name,
                info.field_name,
                function,
            )
            raise FieldError(LAMBDA_UNHANDLED, str(error) or type(error).__name__) from error
        # invoke_api_function.js: a truthy errorType is a refusal, raised as that type.
        if isinstance(result, Mapping) and result.get("errorType"):
            message = result.get("errorMessage")
            raise FieldError(
                str(result["errorType"]),
                str(message) if message is not None else str(result["errorType"]),
                result.get("errorInfo"),
            )
        return result

    # --- requests --------------------------------------------------------------------------

    def _parse_and_validate(self, query: str) -> DocumentNode | list[GraphQLError]:
        """The query's document, or its syntax or validation errors."""
        try:
            document = parse(query)
        except GraphQLError as error:
            return [error]
        return validate(self.schema, document) or document

    def document(self, query: str) -> DocumentNode | list[GraphQLError]:
        """`_parse_and_validate`, once per distinct query text (see DOCUMENT_CACHE_SIZE)."""
        if len(query) > MAX_CACHED_QUERY_CHARS:
            return self._parse_and_validate(query)
        return self._cached_document(query)

    def execute(
        self,
        query: str,
        *,
        principal: Principal,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
        source_ips: Sequence[str] = ("127.0.0.1",),
    ) -> dict[str, Any]:
        """The response body (`data`, `errors`) of one GraphQL request by `principal`."""
        document = self.document(query)
        if isinstance(document, list):
            return {"data": None, "errors": [format_error(error) for error in document]}
        context = _RequestContext(
            principal=principal,
            headers=dict(headers or {}),
            source_ips=list(source_ips),
            variables=dict(variables or {}),
            fragments=_fragments(document),
            identity=principal.appsync_identity(source_ips),
        )
        result = execute_sync(
            self.schema,
            document,
            context_value=context,
            variable_values=dict(variables) if variables is not None else None,
            operation_name=operation_name,
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(error) for error in result.errors]
        return body

    def handle_http(
        self, body: bytes, headers: Mapping[str, str], client_ip: str = "127.0.0.1"
    ) -> HttpResponse:
        """One POST to /graphql: authenticate, parse the JSON body, execute.

        `headers` may use any case; AppSync hands them to resolvers in lower case.
        """
        request_id = str(uuid.uuid4())
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            principal = self.authenticator.authenticate(lowered)
        except AuthenticationError as error:
            return _request_error(401, UNAUTHORIZED_EXCEPTION, error.message, request_id)
        request = _parse_body(body)
        if isinstance(request, str):
            return _request_error(400, MALFORMED_REQUEST, request, request_id)
        query, variables, operation_name = request
        # AppSync's sourceIp: the X-Forwarded-For chain, then the connection's address.
        forwarded = [
            ip.strip() for ip in lowered.get("x-forwarded-for", "").split(",") if ip.strip()
        ]
        event_headers = {**lowered, "x-amzn-requestid": request_id}
        response = self.execute(
            query,
            principal=principal,
            variables=variables,
            operation_name=operation_name,
            headers=event_headers,
            source_ips=[*forwarded, client_ip],
        )
        return HttpResponse(200, response, request_id)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _parse_body(body: bytes) -> tuple[str, dict[str, Any] | None, str | None] | str:
    """(query, variables, operationName) of a GraphQL-over-HTTP JSON body, or what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        return "Request body is too large."
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return "Unable to parse the JSON document."
    if not isinstance(payload, dict):
        return "The request body must be a JSON object."
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return "The request must contain a non-empty `query` string."
    if isinstance(variables, str) and variables.strip():
        # Some clients (old GraphiQL builds) send variables as a JSON string.
        try:
            variables = json.loads(variables)
        except ValueError:
            return "`variables` is not valid JSON."
    if variables in ("", None):
        variables = None
    elif not isinstance(variables, dict):
        return "`variables` must be a JSON object."
    if operation_name is not None and not isinstance(operation_name, str):
        return "`operationName` must be a string."
    return query, variables, operation_name or None
