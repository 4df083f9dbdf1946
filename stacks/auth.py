"""Cognito: who the callers are and which group (role) each belongs to."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from stacks.constants import GROUP_ADMIN, GROUP_NANNY, GROUP_PARENT, PASSWORD_MIN_LENGTH
from stacks.nag import acknowledge

_GROUP_DESCRIPTIONS = {
    GROUP_ADMIN: "Operators: manage users and see every job. Assigned by hand, never by the API.",
    GROUP_PARENT: "Post jobs and book nannies. Joined through createUser(type: PARENT).",
    GROUP_NANNY: "Browse open jobs and apply. Joined through createUser(type: NANNY).",
}


class Auth(Construct):
    """User pool, its three groups and the mobile app's client."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(username=True),
            # "Anna" and "anna" are one user: usernames become DynamoDB keys.
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # A changed email takes effect only once verified, so nobody can point an
            # account at an address they do not own.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is not required at launch: sign-up must work with a username, password and "
            "emailed code only, and SMS MFA would add per-message cost and a phone-number "
            "requirement. Revisit with TOTP MFA before admins use the mobile app.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Essentials feature plan is enough for username/password sign-in; the Plus "
            "plan (threat protection) is billed per monthly active user and is a product "
            "decision, not a launch blocker. Strong passwords, email verification and "
            "prevented user-existence errors are enforced instead.",
        )

        # Groups only: membership is granted by the API (parent/nanny) or an operator
        # (admin), never chosen by the client at sign-up (DESIGN.md section 8).
        self.groups = {
            name: self.user_pool.add_group(
                f"{name.capitalize()}Group", group_name=name, description=description
            )
            for name, description in _GROUP_DESCRIPTIONS.items()
        }

        self.client = self.user_pool.add_client(
            "AppClient",
            # A mobile app cannot keep a secret.
            generate_secret=False,
            # SRP for the apps; USER_PASSWORD for tests and tools. CDK adds refresh-token
            # auth whenever any flow is set.
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            # No hosted UI or OAuth redirect: the apps sign in through the Cognito API.
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
        )
