"""Fuzz-run totals in the terminal summary (the figures of docs/reliability.md)."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import STATS


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("fuzzed once, on SQLite: the generated inputs exercise the API layer")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not STATS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzzing (schemathesis)")
    total_ops = total_examples = total_requests = 0
    for run, stats in sorted(STATS.items()):
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats.by_status.items()))
        write(
            f"{run:<22} operations {stats.operations:>3}  examples {stats.examples:>5}  "
            f"requests {stats.requests:>5}  failures {len(stats.failures)}  [{statuses}]"
        )
        total_ops += stats.operations
        total_examples += stats.examples
        total_requests += stats.requests
    write(
        f"{'total':<22} operations {total_ops:>3}  examples {total_examples:>5}  requests {total_requests:>5}"
    )
