"""The whole system on this machine, deployed from the synthesized template (`make up`).

One module per emulated part, each testable alone (docs/local-cloud.md):

- `runtime` and `cli`: start every part in order, stop them in reverse; the CLI
  (`python -m localcloud up | status | outputs | user create | events tail`).
- `deployer`, `intrinsics`, `deploy/`: the template's resources onto the backends.
- `dynamodb_local`, `cloudformation_table`: Amazon's DynamoDB Local and its tables.
- `edge_router`, `edge/`: one AWS endpoint; StartSyncExecution, PutEvents delivery,
  archives and replay.
- `lambda_workers`, `sqs_event_source`: functions as warm worker processes, fed by SQS.
- `pipe_runner`: the EventBridge Pipes data plane for DynamoDB streams.
- `event_pattern`, `input_template`: EventBridge's matching and templating semantics.
- `graphql_endpoint`, `appsync/`, `graphiql/`: AppSync's execution, auth and errors.
- `developer_tools`: users with tokens and a live tail of the bus.
"""
