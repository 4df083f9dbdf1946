"""Operator tools for the deployed stack, in AWS or on the local cloud.

``python -m operations`` (see ``operations.cli``) replays the event archive to chosen
consumers, lists, peeks at and redrives the stack's dead-letter queues, and re-reads the
stream records the JobClosed pipe gave up on. Everything is found from the stack's
outputs file (``cdk deploy --outputs-file`` or the local cloud's
``.localcloud/outputs.json``), never from hard-coded resource names, so the same commands
work against both clouds. The runbooks are in ``docs/operations.md``.

Modules:

- ``operations.stack``: the outputs file, the endpoint and the boto3 clients;
- ``operations.rules``: which rule feeds which consumer, found by the rules' targets;
- ``operations.replay``: the replay window and StartReplay;
- ``operations.redrive``: the dead-letter queues, peek and redrive;
- ``operations.pipe``: re-reading what the pipe's DLQ names from the table's stream;
- ``operations.cli``: the command line.
"""
