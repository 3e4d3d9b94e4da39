"""A tiny generic name -> object registry used by every extension point.

Ops, spaces, strategies, proxies and lowerings all register through :class:`Registry` so that
duplicates and typos fail the same way everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nasir.errors import DuplicateNameError, UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; duplicates raise, unknown names suggest close matches.

    Args:
        kind: what the registry holds ("op", "space", ...), used in error messages.
        unknown_error: the error class raised for unknown names.
    """

    def __init__(self, kind: str, unknown_error: type[UnknownNameError] = UnknownNameError) -> None:
        self.kind = kind
        self._unknown_error = unknown_error
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Adds ``item`` under ``name``; a second registration of one name is an error."""
        if name in self._items:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[T], T]:
        """Returns a decorator that registers the decorated object under ``name``."""
        return lambda item: self.register(name, item)

    def get(self, name: str) -> T:
        """Returns the item for ``name`` or raises an error that lists close matches."""
        try:
            return self._items[name]
        except KeyError:
            raise self._unknown_error(self._unknown_message(name)) from None

    def _unknown_message(self, name: object) -> str:
        close = difflib.get_close_matches(str(name), self._items, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        known = ", ".join(sorted(self._items)) or "none"
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)
