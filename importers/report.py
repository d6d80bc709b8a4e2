"""What an import did: counts per kind and the problems per record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordProblem:
    record: str
    field: str
    message: str
    severity: str = "error"  # error: record skipped; warning: record imported, detail noted


@dataclass
class ImportReport:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: list[RecordProblem] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts[(kind, outcome)] += 1

    def error(self, record: str, field_name: str, message: str) -> None:
        self.problems.append(RecordProblem(record, field_name, message, "error"))

    def warning(self, record: str, field_name: str, message: str) -> None:
        self.problems.append(RecordProblem(record, field_name, message, "warning"))

    @property
    def failed(self) -> int:
        return len({p.record for p in self.problems if p.severity == "error"})
