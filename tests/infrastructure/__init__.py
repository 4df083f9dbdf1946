"""Assertions on the synthesized CloudFormation template, cdk-nag and cfn-lint."""
