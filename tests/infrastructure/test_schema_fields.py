"""A new Query or Mutation field gets a resolver without a code change."""

from pathlib import Path

from stacks.constants import RESOLVED_OPERATION_TYPES
from stacks.schema_fields import operation_fields

SCHEMA = """
schema { query: RootQuery  mutation: RootMutation  subscription: RootSubscription }
scalar AWSDateTime
directive @aws_api_key on FIELD_DEFINITION | OBJECT
type Thing @aws_api_key { id: ID!  at: AWSDateTime }
type RootQuery { thing(id: ID!): Thing @aws_api_key }
type RootMutation { makeThing: Thing }
type RootSubscription { onThing: Thing }
extend type RootQuery { things: [Thing!]! }
"""


def test_fields_of_renamed_and_extended_root_types_in_schema_order(tmp_path: Path) -> None:
    schema = tmp_path / "schema.graphql"
    schema.write_text(SCHEMA)
    assert operation_fields(schema, RESOLVED_OPERATION_TYPES) == [
        ("RootQuery", "thing"),
        ("RootQuery", "things"),
        ("RootMutation", "makeThing"),
    ]


def test_default_root_type_names_without_a_schema_block(tmp_path: Path) -> None:
    schema = tmp_path / "schema.graphql"
    schema.write_text("type Query { a: Int }\ntype Mutation { b: Int }\ntype Other { c: Int }\n")
    assert operation_fields(schema, ("query", "mutation")) == [("Query", "a"), ("Mutation", "b")]
