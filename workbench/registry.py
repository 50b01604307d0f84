"""One registry type for tasks, models' architectures and adapters, methods and metrics.

The app, the CLI, the benchmarks and the tests enumerate registries; nothing keeps its own list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from workbench.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Items by id, in registration order; looking up an unknown id names the known ones."""

    def __init__(self, kind: str, key: Callable[[T], str] = lambda item: item.id) -> None:
        self.kind = kind
        self._key = key
        self._items: dict[str, T] = {}

    def register(self, item: T, key: str | None = None) -> T:
        name = key if key is not None else self._key(item)
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        if name not in self._items:
            raise InputError(f"unknown {self.kind} '{name}'; available: {', '.join(self._items) or 'none'}.")
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def ids(self) -> list[str]:
        return list(self._items)

    def values(self) -> list[T]:
        return list(self._items.values())
