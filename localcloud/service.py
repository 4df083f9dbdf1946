"""What every long-running part of the local cloud shares: start, stop, and ``with``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A part that runs between ``start()`` and ``stop()``; ``with part:`` does both.

    >>> with DynamoDBLocal() as database:  # doctest: +SKIP
    ...     database.client().list_tables()
    """

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
