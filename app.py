#!/usr/bin/env python3
"""CDK entry point (`npx cdk synth`, `npx cdk deploy`)."""

import aws_cdk as cdk

from stacks.nanny_stack import build


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
