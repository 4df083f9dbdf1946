"""The edge router's parts: one AWS endpoint in front of DynamoDB Local and moto.

``localcloud.edge_router.EdgeRouter`` composes them; each module has one job:

- ``routing``: which service a request is for, and which backend answers it;
- ``proxy``: the transparent, connection-pooling HTTP forwarder;
- ``http_server``: the threaded HTTP/1.1 server and its clean shutdown;
- ``backend``: small JSON/query calls the router itself makes to moto;
- ``sync_execution``: StartSyncExecution on top of moto's StartExecution;
- ``event_bus``: PutEvents: rules, targets and archives as EventBridge runs them;
- ``target_input``: a target's Input, InputPath or InputTransformer;
- ``targets``: delivery to SQS, SNS, Lambda, Step Functions, log groups and buses;
- ``archive``: the archived events, kept as JSON lines under the state directory;
- ``replay``: StartReplay, DescribeReplay, ListReplays and CancelReplay.
"""
