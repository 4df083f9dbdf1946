"""Run the AWS pieces of the system on this machine, built from the synthesized template.

Each emulator is a small library module: a later piece wires them together into `make up`.

- `localcloud.dynamodb_local`: start and stop Amazon's DynamoDB Local.
- `localcloud.cloudformation_table`: create a DynamoDB table from an
  `AWS::DynamoDB::Table` resource of the template.
"""
