"""The benchmark's synthetic directory still loads into the current schema (a small one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.dataset import generate

PC4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "geo" / "pc4-nl-2014.csv"


def test_generate_a_small_directory(tmp_path: Path) -> None:
    if not PC4.is_file():
        pytest.skip(f"../shared absent: {PC4} not found")
    info = generate(
        database_url=f"sqlite:///{tmp_path / 'bench.db'}",
        pc4_path=str(PC4),
        services=60,
        seed=1,
    )
    assert info.counts["service"] == 60
