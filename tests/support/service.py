"""What every server the tests run has in common: ``with Server(...) as server:``
starts it and stops it however the block ends."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A server started by :meth:`start` (which returns it) and stopped by :meth:`stop`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
