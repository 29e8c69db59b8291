"""Transition tables: which status may follow which, for every entity that has one.

Each entity's module declares its statuses as a ``StrEnum`` and its table as a
:class:`TransitionTable`; every status change asks the table first, so an
illegal change is refused, never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from app.domain_errors import Conflict

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(Conflict):
    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(
            "ILLEGAL_TRANSITION",
            f"{entity} is {current}; it cannot become {target}",
            current_status=str(current),
        )
        self.entity = entity
        self.current = str(current)
        self.target = str(target)


class TransitionTable(Generic[S]):
    def __init__(self, entity: str, edges: Mapping[S, frozenset[S]]) -> None:
        self.entity = entity
        self.edges = dict(edges)
        statuses = set(self.edges)
        unknown = {t for targets in self.edges.values() for t in targets} - statuses
        if unknown:
            raise ValueError(f"{entity}: targets without a row of their own: {unknown}")
        self.terminal = frozenset(s for s, targets in self.edges.items() if not targets)

    @property
    def statuses(self) -> frozenset[S]:
        return frozenset(self.edges)

    def allows(self, current: str, target: str) -> bool:
        return any(target == t for t in self.edges.get(current, frozenset()))  # type: ignore[call-overload]

    def check(self, current: str, target: str) -> None:
        """Raise :class:`IllegalTransition` unless the table lists ``current → target``."""
        if not self.allows(current, target):
            raise IllegalTransition(self.entity, current, target)
