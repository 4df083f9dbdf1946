"""Reading DynamoDB Local's stream the way the EventBridge Pipe reads the table's.

tail = StreamTail(dynamodb_streams, stream_arn)   # from now on
...writes...
records = tail.records()                          # in the pipe's source shape
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


class StreamTail:
    """The records written to a stream after this object was made, across its shards."""

    def __init__(self, client: Any, stream_arn: str) -> None:
        self.client = client
        self.stream_arn = stream_arn
        # Open shards are read from their end; shards that appear later from their start.
        self._iterators = {
            shard_id: self._iterator(shard_id, "LATEST") for shard_id in self._shard_ids()
        }

    def _shard_ids(self) -> list[str]:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description["Shards"]]

    def _iterator(self, shard_id: str, kind: str) -> str | None:
        iterator: str | None = self.client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind
        )["ShardIterator"]
        return iterator

    def records(self) -> list[dict[str, Any]]:
        """Every record since the last call, as the pipe gets them (see ``as_pipe_source``)."""
        for shard_id in self._shard_ids():
            self._iterators.setdefault(shard_id, self._iterator(shard_id, "TRIM_HORIZON"))
        found: list[dict[str, Any]] = []
        for shard_id, iterator in self._iterators.items():
            while iterator:
                response = self.client.get_records(ShardIterator=iterator, Limit=1000)
                found.extend(as_pipe_source(r, self.stream_arn) for r in response["Records"])
                iterator = response.get("NextShardIterator")
                if not response["Records"]:
                    break  # caught up with an open shard
            self._iterators[shard_id] = iterator
        return found


def as_pipe_source(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the pipe hands it to its filter and input template: plain
    JSON (the creation time in epoch seconds) and the stream's ARN as ``eventSourceARN``."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return int(value.timestamp())
        raise TypeError(f"not JSON: {type(value).__name__}")

    source: dict[str, Any] = json.loads(json.dumps(record, default=plain))
    source["eventSourceARN"] = stream_arn
    return source
