"""Which resolvers the API needs, read from schema.graphql itself.

Parsing the schema (rather than listing fields in code) means a new Query or Mutation
field gets its resolver without touching the stack. Only the document is parsed, not
built into a schema, so AppSync's scalars and directives need no declarations.
"""

from pathlib import Path

from graphql import (
    DocumentNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    parse,
)

# GraphQL's defaults when the document has no `schema { ... }` block.
_DEFAULT_ROOT_TYPES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


def root_type_names(document: DocumentNode) -> dict[str, str]:
    """Operation ("query", "mutation", ...) -> the object type that serves it."""
    roots = dict(_DEFAULT_ROOT_TYPES)
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            roots = {op.operation.value: op.type.name.value for op in definition.operation_types}
    return roots


def operation_fields(schema_file: Path, operations: tuple[str, ...]) -> list[tuple[str, str]]:
    """(type name, field name) for every field of the given operations' root types,
    in schema order, including fields added by `extend type`."""
    document = parse(schema_file.read_text(encoding="utf-8"))
    roots = root_type_names(document)
    wanted = [roots[op] for op in operations if op in roots]
    fields: list[tuple[str, str]] = []
    for type_name in wanted:
        for definition in document.definitions:
            if (
                isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode)
                and definition.name.value == type_name
            ):
                fields.extend((type_name, field.name.value) for field in definition.fields or ())
    return fields
