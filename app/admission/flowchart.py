"""The admission flowchart (stroomschema) as Mermaid, generated from the criteria.

The published flowchart is never drawn by hand: ``GET /admission/flowchart`` and the block in
docs/admission.md both come from :func:`render_flowchart`, so neither can drift from the
configuration. Rules:

* one decision node per criterion, in the configured order; ``reviewer`` criteria are the
  editor's step at the end (with the criteria the editor confirms, ``reviewer_confirms``);
* a blocking criterion: ``nee`` goes to its ``on_fail`` (aanvullen or afgewezen); when that is
  afgewezen, missing data still goes to aanvullen (``ontbreekt``), as the engine decides;
* consecutive criteria with the same ``applies_to`` share one "geldt voor …?" branch;
* a warning criterion is a plain step ("alleen tips"): it never leads to an outcome.

``python -m app.admission.flowchart`` rewrites the block in docs/admission.md from the shipped
Uithoorn criteria.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

from app.admission.criteria import (
    AppliesTo,
    CheckType,
    Criterion,
    OnFail,
    read_criteria_file,
    shipped_criteria_path,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "admission.md"
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)\n```", re.S)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _node_id(criterion: Criterion) -> str:
    return "c_" + re.sub(r"\W", "_", criterion.id)


def _or(values: Sequence[str]) -> str:
    items = [v.replace("-", " ") for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " of " + items[-1]


def condition_text(condition: AppliesTo) -> str:
    parts = []
    if condition.kinds:
        parts.append("soort " + _or([k.value for k in condition.kinds]))
    if condition.target_groups:
        parts.append("doelgroep " + _or(condition.target_groups))
    if condition.themes:
        parts.append("thema " + _or(condition.themes))
    return "geldt voor " + " en ".join(parts) + "?"


def _question(criterion: Criterion) -> str:
    if criterion.check.type is CheckType.attestation:
        proof = "verklaring + link" if criterion.check.link_required else "verklaring"
        return f"{criterion.id} {criterion.name.lower()}: {proof}?"
    return f"{criterion.id} {criterion.name.lower()}?"


def render_flowchart(criteria: Sequence[Criterion]) -> str:
    """Mermaid ``flowchart TD`` text for these criteria (deterministic)."""
    lines = ["flowchart TD", "    start([aanmelding])"]
    edges: list[str] = []
    used: set[str] = set()
    incoming: list[tuple[str, str | None]] = [("start", None)]

    def connect(target: str) -> None:
        for source, label in incoming:
            edges.append(
                f"    {source} -->|{label}| {target}" if label else f"    {source} --> {target}"
            )

    in_order = [c for c in criteria if c.check.type is not CheckType.reviewer]
    reviewed = [c for c in criteria if c.check.type is CheckType.reviewer]
    confirmed = [
        c for c in criteria if c.check.reviewer_confirms and c.check.type is not CheckType.reviewer
    ]

    def key(c: Criterion) -> str:
        return c.applies_to.model_dump_json() if c.applies_to is not None else ""

    branches = 0
    for _, group_iter in groupby(in_order, key=key):
        group = list(group_iter)
        condition = group[0].applies_to
        branch: str | None = None
        if condition is not None:
            branches += 1
            branch = f"geldt{branches}"
            lines.append(f"    {branch}{{{_label(condition_text(condition))}}}")
            connect(branch)
            incoming = [(branch, "ja")]
        for criterion in group:
            node = _node_id(criterion)
            if criterion.blocking:
                lines.append(f"    {node}{{{_label(_question(criterion))}}}")
                connect(node)
                on_fail = criterion.on_fail or OnFail.aanvullen
                edges.append(f"    {node} -->|nee| {on_fail.value}")
                used.add(on_fail.value)
                if on_fail is OnFail.afgewezen:
                    edges.append(f"    {node} -->|ontbreekt| aanvullen")
                    used.add(OnFail.aanvullen.value)
                incoming = [(node, "ja")]
            else:
                text = f"{criterion.id} {criterion.name.lower()}: alleen tips, nooit afwijzing"
                lines.append(f"    {node}[{_label(text)}]")
                connect(node)
                incoming = [(node, None)]
        if branch is not None:
            incoming = [*incoming, (branch, "nee")]

    if reviewed or confirmed:
        parts = [f"{c.id} {c.name.lower()}" for c in reviewed]
        if confirmed:
            parts.append("bevestigt " + ", ".join(c.id for c in confirmed))
        lines.append(f"    redactie[[{_label('redactie: ' + '; '.join(parts))}]]")
        connect("redactie")
        edges.append("    redactie -->|akkoord| toegelaten")
        for target in sorted({(c.on_fail or OnFail.aanvullen).value for c in reviewed}):
            edges.append(f"    redactie -->|niet akkoord| {target}")
            used.add(target)
    else:
        connect("toegelaten")
    lines.append("    toegelaten([toegelaten])")
    for outcome in (OnFail.aanvullen.value, OnFail.afgewezen.value):
        if outcome in used:
            lines.append(f"    {outcome}([{outcome}])")
    return "\n".join(lines + edges)


def doc_block(text: str) -> str | None:
    """The first ```mermaid block of a Markdown text."""
    match = MERMAID_BLOCK.search(text)
    return match.group(1) if match else None


def shipped_flowchart(municipality_slug: str = "uithoorn") -> str:
    document = read_criteria_file(shipped_criteria_path(municipality_slug))
    return render_flowchart(document.criteria)


def main() -> int:
    """Rewrite the mermaid block of docs/admission.md from the shipped Uithoorn criteria."""
    text = DOC.read_text(encoding="utf-8")
    if doc_block(text) is None:
        print(f"{DOC} has no ```mermaid block", file=sys.stderr)
        return 1
    block = shipped_flowchart()
    new = MERMAID_BLOCK.sub(lambda _m: f"```mermaid\n{block}\n```", text, count=1)
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote the flowchart in {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
