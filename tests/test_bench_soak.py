"""The soak (bench/soak.py) end to end, briefly: a real server on SQLite, a few clients, every
acknowledged write verified; plus its report section and memory verdict on made-up data."""

from __future__ import annotations

from pathlib import Path

from bench import soak

# Every request kind a short run must cover (a token refresh only happens after ~14 minutes).
KINDS = [kind for kind in soak.KINDS if kind != "token"]


def test_a_short_soak_has_no_errors_and_loses_no_write(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# Search benchmark\n\nkept\n", encoding="utf-8")
    args = soak.parse_args(
        [
            "--duration",
            "8",
            "--clients",
            "3",
            "--providers",
            "2",
            "--rss-interval",
            "1",
            # SQLite has one writer: with this many retries a lost race never becomes an error
            # here (the soak itself reports how often writes had to be retried).
            "--write-retries",
            "20",
            "--out",
            str(out),
        ]
    )
    result = soak.run(args)
    assert [c.detail for c in result.errors] == []
    verification = result.verification
    problems = [p for check in verification.checks for p in check.problems]
    assert problems == []
    assert verification.missing == 0
    for kind in soak.WRITE_KINDS:
        assert verification.database[kind].acknowledged > 0, kind
    assert verification.index_public.verified > 0
    assert verification.index_hidden.acknowledged + verification.index_public.acknowledged > 0
    kinds = {call.kind for call in result.calls()}
    assert kinds >= set(KINDS) - {"submission"}  # "submission": only with a change still open
    assert result.memory.samples

    report = soak.render(result)
    for kind in kinds:
        assert f"| `{kind}` |" in report
    soak.write_report(out, report)
    written = out.read_text(encoding="utf-8")
    assert written.startswith("# Search benchmark\n\nkept\n\n# Soak\n")


def test_the_soak_section_is_replaced_and_the_rest_kept() -> None:
    document = "# Search\n\nfigures\n\n# Soak\n\nold\n## Soak: requests\n\nold table\n"
    replaced = soak.replace_section(document, "# Soak\n\nnew\n")
    assert replaced == "# Search\n\nfigures\n\n# Soak\n\nnew\n"
    before = "# Soak\n\nold\n\n# Later\n\ntext\n"
    assert soak.replace_section(before, "# Soak\n\nnew") == "# Soak\n\nnew\n\n# Later\n\ntext\n"
    assert soak.replace_section("", "# Soak\n\nnew") == "# Soak\n\nnew\n"


def test_memory_is_judged_after_the_warm_up() -> None:
    mib = 1024
    flat = [(t, 150 * mib + (t % 3) * mib) for t in range(0, 600, 5)]
    verdict = soak.judge_memory(flat, 600)
    assert verdict.judged
    assert verdict.warmup_s == 60
    assert verdict.flat
    growing = [(t, 150 * mib + t * mib // 10) for t in range(0, 600, 5)]  # 6 MiB a minute
    verdict = soak.judge_memory(growing, 600)
    assert not verdict.flat
    assert 55 < verdict.slope_mib_per_10min < 65
    short = soak.judge_memory([(t, 150 * mib) for t in range(10)], 10)
    assert not short.judged
