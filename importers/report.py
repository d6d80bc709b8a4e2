"""What an import did: counts per kind and the problems per record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordProblem:
    record: str  # the record's id, or "rij 7" for a row of a spreadsheet
    field: str  # in the words of the file being imported
    message: str
    severity: str = "error"  # error: record skipped; warning: record imported, detail noted
    suggestion: str | None = None  # how to fix it, when we can tell


@dataclass
class ImportReport:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: list[RecordProblem] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts[(kind, outcome)] += 1

    def error(
        self, record: str, field_name: str, message: str, suggestion: str | None = None
    ) -> None:
        self.problems.append(RecordProblem(record, field_name, message, "error", suggestion))

    def warning(
        self, record: str, field_name: str, message: str, suggestion: str | None = None
    ) -> None:
        self.problems.append(RecordProblem(record, field_name, message, "warning", suggestion))

    @property
    def failed(self) -> int:
        """Records skipped (rejected): each counts once, however many problems it has."""
        return len({p.record for p in self.problems if p.severity == "error"})
