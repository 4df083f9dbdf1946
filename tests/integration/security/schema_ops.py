"""The API's operations as `schema.graphql` declares them, for tables that must cover each one.

Imported by the security tests so that a field added to the schema without a row in their
tables fails them (each asserts its table's keys equal `operation_fields()`).
"""

from __future__ import annotations

from functools import cache

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
)

from localcloud.appsync.engine import build_appsync_schema
from stacks.constants import SCHEMA_FILE


@cache
def schema() -> GraphQLSchema:
    """schema.graphql with AppSync's scalars and directives, as the local AppSync builds it."""
    return build_appsync_schema(SCHEMA_FILE.read_text())


def operation_fields() -> dict[str, tuple[str, GraphQLField]]:
    """Every Query and Mutation field: name -> (its root type name, the field)."""
    fields: dict[str, tuple[str, GraphQLField]] = {}
    for root in (schema().query_type, schema().mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            assert name not in fields, f"{name} is both a query and a mutation"
            fields[name] = (root.name, field)
    return fields


def _named(type_: GraphQLType) -> GraphQLType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def public_selection(type_: GraphQLType) -> str:
    """A selection set of the type's scalar fields that carry no field-level directive.

    Those are the fields open to every mode the type admits, so an API-key caller is not
    refused for a private field it selected (connections recurse into `items`).
    """
    named = _named(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts: list[str] = []
    for name, field in named.fields.items():
        inner = _named(field.type)
        if isinstance(inner, GraphQLObjectType):
            parts.append(f"{name} {public_selection(inner)}")
        elif field.ast_node is None or not field.ast_node.directives:
            parts.append(name)
    return "{ " + " ".join(parts) + " }"


def document(field_name: str) -> str:
    """A GraphQL document calling the operation with every argument as a variable."""
    root, field = operation_fields()[field_name]
    keyword = "query" if root == "Query" else "mutation"
    variables = ", ".join(f"${name}: {arg.type}" for name, arg in field.args.items())
    arguments = ", ".join(f"{name}: ${name}" for name in field.args)
    header = f"{keyword} Op({variables})" if variables else f"{keyword} Op"
    call = f"{field_name}({arguments})" if arguments else field_name
    return f"{header} {{ {call} {public_selection(field.type)} }}"
