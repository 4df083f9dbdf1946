"""CloudFormation intrinsic functions, parameters and deployment order, without backends."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from localcloud.intrinsics import (
    NO_VALUE,
    CircularDependencyError,
    IntrinsicError,
    PseudoParameters,
    Resolver,
    UnsupportedIntrinsicError,
    deployment_order,
    is_intrinsic,
    resolve_parameters,
    resource_dependencies,
)

PSEUDO = PseudoParameters(stack_name="Shop", region="eu-west-1", account_id="111122223333")


class FakeResources:
    """Ref and GetAtt of "deployed" resources, as the deployer's records answer them."""

    def __init__(self, refs: dict[str, Any], attributes: dict[str, dict[str, Any]]) -> None:
        self.refs = refs
        self.attributes = attributes

    def ref(self, logical_id: str) -> Any:
        if logical_id not in self.refs:
            raise IntrinsicError(f"resource {logical_id} is not deployed yet")
        return self.refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise IntrinsicError(f"{logical_id} has no attribute {attribute!r}") from None


TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
        "Size": {"Type": "Number", "Default": 3},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 128}, "prod": {"Memory": 1024}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "IsDevInIreland": {
            "Fn::And": [
                {"Condition": "IsDev"},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
            ]
        },
        "IsProdOrBig": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Size"}, 3]}]},
    },
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "ProdOnly": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"},
    },
}

RESOURCES = FakeResources(
    refs={"Queue": "https://sqs/q", "Table": "shop-table"},
    attributes={
        "Queue": {"Arn": "arn:aws:sqs:eu-west-1:111122223333:q", "QueueName": "q"},
        "Table": {"StreamArn": "arn:stream/1"},
    },
)


def resolver(
    template: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
) -> Resolver:
    template = TEMPLATE if template is None else template
    values = resolve_parameters(template, parameters, PSEUDO).values
    return Resolver(template, pseudo=PSEUDO, parameters=values, resources=RESOURCES)


def resolve(value: Any, **kwargs: Any) -> Any:
    return resolver(**kwargs).resolve(value, "Resources.Thing.Properties.Value")


# -- Ref ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AWS::Region", "eu-west-1"),
        ("AWS::AccountId", "111122223333"),
        ("AWS::Partition", "aws"),
        ("AWS::StackName", "Shop"),
        ("AWS::URLSuffix", "amazonaws.com"),
        ("AWS::NotificationARNs", []),
    ],
)
def test_ref_pseudo_parameters(name: str, expected: Any) -> None:
    assert resolve({"Ref": name}) == expected


def test_stack_id_is_an_arn_stable_for_the_stack() -> None:
    stack_id = resolve({"Ref": "AWS::StackId"})
    assert re.fullmatch(
        r"arn:aws:cloudformation:eu-west-1:111122223333:stack/Shop/[0-9a-f-]{36}", stack_id
    )
    assert resolve({"Ref": "AWS::StackId"}) == stack_id


def test_ref_parameters_default_given_and_typed() -> None:
    assert resolve({"Ref": "Stage"}) == "dev"
    assert resolve({"Ref": "Stage"}, parameters={"Stage": "prod"}) == "prod"
    assert resolve({"Ref": "Zones"}) == ["a", "b", "c"]
    # Like CloudFormation, a Number parameter reaches Ref as a string.
    assert resolve({"Ref": "Size"}) == "3"


def test_ref_resource_is_its_physical_id() -> None:
    assert resolve({"Ref": "Queue"}) == "https://sqs/q"


def test_no_value_removes_the_member_or_item() -> None:
    value = {
        "Keep": 1,
        "Drop": {"Ref": "AWS::NoValue"},
        "List": ["a", {"Ref": "AWS::NoValue"}, "b"],
        "Nested": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
    }
    assert resolve(value) == {"Keep": 1, "List": ["a", "b"]}
    assert resolve({"Ref": "AWS::NoValue"}) is None
    assert repr(NO_VALUE) == "AWS::NoValue"


def test_ref_to_an_unknown_name_names_the_location() -> None:
    with pytest.raises(
        IntrinsicError,
        match=re.escape(
            "Resources.Thing.Properties.Value.Env.Ref: no parameter or resource named 'Nope'"
        ),
    ):
        resolve({"Env": {"Ref": "Nope"}})


def test_ref_to_a_resource_whose_condition_is_false() -> None:
    with pytest.raises(
        IntrinsicError, match=re.escape("ProdOnly is not created (its Condition is false")
    ):
        resolve({"Ref": "ProdOnly"})


def test_ref_to_a_resource_not_deployed_yet_keeps_the_location() -> None:
    template = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"], "Later": {"Type": "X"}}}
    with pytest.raises(
        IntrinsicError, match=r"^Resources\.Thing.*Ref: resource Later is not deployed yet"
    ):
        resolve({"Ref": "Later"}, template=template)


def test_resolving_a_resource_without_resource_values_is_an_error() -> None:
    bare = Resolver(TEMPLATE, pseudo=PSEUDO)
    with pytest.raises(IntrinsicError, match="resource Queue has no value here"):
        bare.resolve({"Ref": "Queue"}, "Outputs.Q.Value")


# -- Fn::GetAtt -----------------------------------------------------------------------------------


def test_get_att_list_string_and_ref_attribute_forms() -> None:
    arn = "arn:aws:sqs:eu-west-1:111122223333:q"
    assert resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == arn
    assert resolve({"Fn::GetAtt": "Queue.Arn"}) == arn
    template = {
        **TEMPLATE,
        "Parameters": {**TEMPLATE["Parameters"], "Att": {"Type": "String", "Default": "QueueName"}},
    }
    assert resolve({"Fn::GetAtt": ["Queue", {"Ref": "Att"}]}, template=template) == "q"


def test_get_att_errors_name_the_resource_and_location() -> None:
    with pytest.raises(IntrinsicError, match=r"Value\.Fn::GetAtt: no resource named 'Ghost'"):
        resolve({"Fn::GetAtt": ["Ghost", "Arn"]})
    with pytest.raises(IntrinsicError, match=r"Value\.Fn::GetAtt: Queue has no attribute 'Nope'"):
        resolve({"Fn::GetAtt": ["Queue", "Nope"]})
    with pytest.raises(IntrinsicError, match="Fn::GetAtt takes"):
        resolve({"Fn::GetAtt": ["Queue"]})


# -- strings and lists ----------------------------------------------------------------------------


def test_join() -> None:
    value = {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "sqs", {"Ref": "Size"}, True]]}
    assert resolve(value) == "arn:aws:sqs:3:true"
    assert resolve({"Fn::Join": ["-", {"Ref": "Zones"}]}) == "a-b-c"
    assert resolve({"Fn::Join": ["", ["x", {"Ref": "AWS::NoValue"}, "y"]]}) == "xy"


def test_join_errors() -> None:
    with pytest.raises(IntrinsicError, match=r"Fn::Join\[1\]: Fn::Join needs a list"):
        resolve({"Fn::Join": [",", "abc"]})
    with pytest.raises(IntrinsicError, match=r"Fn::Join\[1\]\[1\]: expected a string"):
        resolve({"Fn::Join": [",", ["a", {"b": 1}]]})
    with pytest.raises(IntrinsicError, match="takes \\[delimiter"):
        resolve({"Fn::Join": [","]})


def test_sub_string_form() -> None:
    text = "${AWS::StackName}-${Stage}-${Queue}-${Queue.Arn}-${!Literal}-${ Stage }"
    assert resolve({"Fn::Sub": text}) == (
        "Shop-dev-https://sqs/q-arn:aws:sqs:eu-west-1:111122223333:q-${Literal}-dev"
    )


def test_sub_variable_map_form_with_intrinsics() -> None:
    value = {
        "Fn::Sub": [
            "${Name} in ${AWS::Region} (${Count})",
            {"Name": {"Fn::Join": ["/", ["a", {"Ref": "Stage"}]]}, "Count": 2},
        ]
    }
    assert resolve(value) == "a/dev in eu-west-1 (2)"


def test_sub_errors() -> None:
    with pytest.raises(
        IntrinsicError, match=r"Value\.Fn::Sub: no parameter or resource named 'Missing'"
    ):
        resolve({"Fn::Sub": "x-${Missing}"})
    with pytest.raises(IntrinsicError, match=r"expected a string, not \['a', 'b', 'c'\]"):
        resolve({"Fn::Sub": "${Zones}"})
    with pytest.raises(IntrinsicError, match="Fn::Sub takes a string"):
        resolve({"Fn::Sub": ["a", "b"]})


def test_select_and_split() -> None:
    assert resolve({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "eu-west-1a"
    assert resolve({"Fn::Select": [{"Ref": "Size"}, ["a", "b", "c", "d"]]}) == "d"


def test_select_and_split_errors() -> None:
    with pytest.raises(IntrinsicError, match="index 5 is out of range for a list of 2"):
        resolve({"Fn::Select": [5, ["a", "b"]]})
    with pytest.raises(IntrinsicError, match="the index must be a number"):
        resolve({"Fn::Select": ["first", ["a"]]})
    with pytest.raises(IntrinsicError, match="Fn::Split needs a string"):
        resolve({"Fn::Split": [",", ["a"]]})


def test_get_azs_base64_find_in_map() -> None:
    assert resolve({"Fn::GetAZs": {"Ref": "AWS::Region"}})[:2] == ["eu-west-1a", "eu-west-1b"]
    assert resolve({"Fn::GetAZs": "us-east-2"})[0] == "us-east-2a"
    encoded = resolve({"Fn::Base64": {"Fn::Sub": "stage=${Stage}"}})
    assert base64.b64decode(encoded) == b"stage=dev"
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 128
    default = {"Fn::FindInMap": ["Sizes", "test", "Memory", {"DefaultValue": 64}]}
    assert resolve(default) == 64
    with pytest.raises(IntrinsicError, match=re.escape("Mappings has no Sizes.test.Memory")):
        resolve({"Fn::FindInMap": ["Sizes", "test", "Memory"]})


def test_language_extensions() -> None:
    assert resolve({"Fn::ToJsonString": {"a": [{"Ref": "Stage"}]}}) == '{"a":["dev"]}'
    assert resolve({"Fn::Length": {"Ref": "Zones"}}) == 3


def test_import_value_and_unknown_functions_are_errors() -> None:
    with pytest.raises(
        UnsupportedIntrinsicError,
        match=r"Value\.Fn::ImportValue: Fn::ImportValue 'Shared-Vpc'.*one stack",
    ):
        resolve({"Fn::ImportValue": "Shared-Vpc"})
    with pytest.raises(UnsupportedIntrinsicError, match="Fn::Cidr is not supported"):
        resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]})
    with pytest.raises(UnsupportedIntrinsicError, match="unknown intrinsic function Fn::Magic"):
        resolve({"Fn::Magic": 1})


def test_deep_nesting() -> None:
    value = {
        "Fn::If": [
            "IsDevInIreland",
            {
                "Fn::Join": [
                    "",
                    [
                        {
                            "Fn::Select": [
                                1,
                                {"Fn::Split": ["/", {"Fn::Sub": "${Queue.QueueName}/${Stage}"}]},
                            ]
                        },
                        "-",
                        {
                            "Fn::FindInMap": [
                                "Sizes",
                                {"Fn::If": ["IsProd", "prod", "dev"]},
                                "Memory",
                            ]
                        },
                    ],
                ]
            },
            "unused",
        ]
    }
    assert resolve(value) == "dev-128"


def test_plain_values_pass_through() -> None:
    value = {"A": [1, 2.5, True, None, "x"], "B": {"C": {}}, "Ref2": "not an intrinsic"}
    assert resolve(value) == value
    assert not is_intrinsic({"Ref": "A", "Other": 1})
    assert is_intrinsic({"Fn::Sub": "x"})
    assert not is_intrinsic({"Condition": "IsProd"})


# -- conditions -----------------------------------------------------------------------------------


def test_conditions() -> None:
    dev = resolver()
    assert (dev.condition("IsProd"), dev.condition("IsDev")) == (False, True)
    assert dev.condition("IsDevInIreland") is True
    assert dev.condition("IsProdOrBig") is True  # Number "3" equals 3
    prod = resolver(parameters={"Stage": "prod"})
    assert (prod.condition("IsProd"), prod.condition("IsDev")) == (True, False)
    assert prod.condition("IsDevInIreland") is False


def test_if_evaluates_only_the_chosen_branch() -> None:
    value = {"Fn::If": ["IsProd", {"Ref": "Nope"}, "fallback"]}
    assert resolve(value) == "fallback"
    with pytest.raises(
        IntrinsicError, match=r"Fn::If\[1\]\.Ref: no parameter or resource named 'Nope'"
    ):
        resolve(value, parameters={"Stage": "prod"})


def test_resource_condition() -> None:
    assert resolver().is_enabled("Queue")
    assert not resolver().is_enabled("ProdOnly")
    assert resolver(parameters={"Stage": "prod"}).is_enabled("ProdOnly")


def test_condition_errors() -> None:
    template = {
        **TEMPLATE,
        "Conditions": {
            "A": {"Fn::And": [{"Condition": "B"}, {"Fn::Equals": ["1", "1"]}]},
            "B": {"Fn::Or": [{"Condition": "A"}, {"Fn::Equals": ["1", "2"]}]},
            "NotACondition": "yes",
            "Short": {"Fn::And": [{"Condition": "A"}]},
        },
    }
    checker = resolver(template=template)
    with pytest.raises(
        CircularDependencyError, match=re.escape("Conditions.A: circular reference A -> B -> A")
    ):
        checker.condition("A")
    with pytest.raises(
        IntrinsicError, match=re.escape("Conditions.NotACondition: expected a condition")
    ):
        checker.condition("NotACondition")
    with pytest.raises(IntrinsicError, match="Fn::And takes 2 to 10 conditions"):
        checker.condition("Short")
    with pytest.raises(IntrinsicError, match=r"Fn::If\[0\]: no condition named 'Nope'"):
        checker.resolve({"Fn::If": ["Nope", 1, 2]}, "Resources.Thing.Properties.Value")


def test_the_condition_key_is_only_a_function_inside_conditions() -> None:
    # An IAM statement-like object with a lone "Condition" member stays data.
    value = {"Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}
    assert resolve(value) == {"Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}


# -- parameters -----------------------------------------------------------------------------------


def test_parameter_errors() -> None:
    with pytest.raises(IntrinsicError, match=r"Parameters: \['Typo'\] given"):
        resolve_parameters(TEMPLATE, {"Typo": "x"})
    with pytest.raises(
        IntrinsicError, match=re.escape("Parameters.Stage: 'test' is not one of the AllowedValues")
    ):
        resolve_parameters(TEMPLATE, {"Stage": "test"})
    with pytest.raises(IntrinsicError, match=re.escape("Parameters.Size: 'big' is not a Number")):
        resolve_parameters(TEMPLATE, {"Size": "big"})
    with pytest.raises(
        IntrinsicError, match=re.escape("Parameters.Name: no value given and no Default")
    ):
        resolve_parameters({"Parameters": {"Name": {"Type": "String"}}})
    pattern = {
        "Parameters": {"Name": {"Type": "String", "Default": "Ab", "AllowedPattern": "[a-z]+"}}
    }
    with pytest.raises(IntrinsicError, match="does not match the AllowedPattern"):
        resolve_parameters(pattern)


def test_ssm_parameters_get_local_placeholders_listed_in_notes() -> None:
    template = {
        "Parameters": {
            "PowertoolsLayer": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/aws/service/powertools/python/arm64/python3.13/3.37.0",
            },
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            },
            "Other": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/setting"},
            "Subnets": {
                "Type": "AWS::SSM::Parameter::Value<List<String>>",
                "Default": "/app/subnets",
            },
            "Given": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/given"},
        }
    }
    resolved = resolve_parameters(template, {"Given": "mine"}, PSEUDO)
    layer = resolved.values["PowertoolsLayer"]
    assert re.fullmatch(r"arn:aws:lambda:eu-west-1:111122223333:layer:[\w-]+:1", layer)
    assert resolved.values["BootstrapVersion"] == "6"
    assert resolved.values["Other"] == "local-placeholder:/app/setting"
    assert resolved.values["Subnets"] == ["local-placeholder:/app/subnets"]
    assert resolved.values["Given"] == "mine"
    assert len(resolved.notes) == 4
    assert all("is not read locally" in note for note in resolved.notes)
    assert not any("Given" in note for note in resolved.notes)


# -- dependencies and order -----------------------------------------------------------------------


def _resources(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Parameters": {"P": {"Type": "String", "Default": "x"}}, "Resources": resources}


def test_dependencies_from_every_kind_of_reference() -> None:
    template = _resources(
        A={"Type": "T"},
        B={
            "Type": "T",
            "Properties": {"X": {"Ref": "A"}, "Y": {"Ref": "P"}, "Z": {"Ref": "AWS::Region"}},
        },
        C={"Type": "T", "Properties": {"X": {"Fn::GetAtt": "B.Arn"}}},
        D={"Type": "T", "Properties": {"X": {"Fn::Sub": "${C.Arn}/${P}/${!A}/${AWS::Region}"}}},
        E={"Type": "T", "Properties": {"X": {"Fn::Sub": ["${A}-${V}", {"V": {"Ref": "D"}}]}}},
        F={
            "Type": "T",
            "DependsOn": "E",
            "Properties": {"X": {"Fn::If": ["C1", {"Ref": "A"}, {"Fn::GetAtt": ["B", "Arn"]}]}},
        },
        G={"Type": "T", "DependsOn": ["A", "F"]},
    )
    assert resource_dependencies(template) == {
        "A": set(),
        "B": {"A"},
        "C": {"B"},
        "D": {"C"},
        "E": {"A", "D"},
        "F": {"A", "B", "E"},
        "G": {"A", "F"},
    }


def test_unknown_references_are_errors() -> None:
    with pytest.raises(IntrinsicError, match=r"Resources.B.DependsOn: no resource named 'Ghost'"):
        resource_dependencies(_resources(B={"Type": "T", "DependsOn": ["Ghost"]}))
    with pytest.raises(
        IntrinsicError,
        match=r"Resources.B.Properties.X.Ref: no parameter or resource named 'Ghost'",
    ):
        resource_dependencies(_resources(B={"Type": "T", "Properties": {"X": {"Ref": "Ghost"}}}))
    with pytest.raises(
        IntrinsicError,
        match=r"Resources.B.Properties.X.Fn::Sub: no parameter or resource named 'Ghost'",
    ):
        resource_dependencies(
            _resources(B={"Type": "T", "Properties": {"X": {"Fn::Sub": "${Ghost.Arn}"}}})
        )


def test_order_is_topological_and_otherwise_template_order() -> None:
    template = _resources(
        Function={
            "Type": "T",
            "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "T": {"Ref": "Table"}},
        },
        Unrelated={"Type": "T"},
        Role={"Type": "T"},
        Table={"Type": "T", "DependsOn": "Role"},
        Mapping={"Type": "T", "Properties": {"F": {"Ref": "Function"}}},
    )
    assert deployment_order(template) == ["Unrelated", "Role", "Table", "Function", "Mapping"]


@pytest.mark.parametrize(
    ("resources", "cycle"),
    [
        (
            {
                "A": {"Type": "T", "Properties": {"X": {"Ref": "B"}}},
                "B": {"Type": "T", "Properties": {"X": {"Fn::GetAtt": ["A", "Arn"]}}},
            },
            "A -> B -> A",
        ),
        ({"Self": {"Type": "T", "Properties": {"X": {"Fn::Sub": "${Self.Arn}"}}}}, "Self -> Self"),
        (
            {
                "Free": {"Type": "T"},
                "A": {"Type": "T", "DependsOn": "C"},
                "B": {"Type": "T", "DependsOn": ["A", "Free"]},
                "C": {"Type": "T", "Properties": {"X": {"Ref": "B"}}},
            },
            "A -> C -> B -> A",
        ),
    ],
)
def test_cycles_are_detected_and_named(resources: dict[str, Any], cycle: str) -> None:
    with pytest.raises(CircularDependencyError, match=re.escape(f"circular dependency {cycle}")):
        deployment_order({"Resources": resources})
