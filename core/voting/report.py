"""A count, readable: the text ``sip tally`` prints, and its JSON twin."""

from __future__ import annotations

from typing import Any

import msgspec

from core.voting.base import CandidateId, Figure, Tally, VotingMethod, figure_decimal
from core.voting.files import BallotFile, printable


def json_report(file: BallotFile, method: VotingMethod, tally: Tally) -> dict[str, Any]:
    """One object: the file, the method, the winners (candidate numbers) and the working.

    Figures are exact: whole numbers of any size, decimals as JSON numbers when their float is
    exact in its shortest form, else as strings of the exact decimal (``core.voting.base``)."""
    return {
        "file": file.path,
        "format": file.format,
        "poll": file.poll,
        "method": method.name,
        "label": method.label,
        "seats": tally.seats,
        "candidates": [{"number": c, "name": file.name(c)} for c in file.candidates],
        "winners": tally.winners,
        "tally": msgspec.to_builtins(tally),
    }


def text_report(file: BallotFile, method: VotingMethod, tally: Tally) -> str:
    """The count for a terminal; what the file says (names, the title) is printed with its
    control characters escaped, so a file cannot drive the terminal."""
    lines: list[str] = []
    out = lines.append

    def who(candidate: CandidateId) -> str:
        name = file.name(candidate)  # type: ignore[arg-type]
        return printable(f"{candidate} {name}".rstrip())

    kind = "PrefLib ." + file.format if file.format != "json" else "platform export"
    out(f"{printable(file.path)} ({kind}): {tally.ballots} ballots, {tally.blank} blank or void")
    if isinstance(file.poll, dict) and file.poll.get("title"):
        out(f"Poll: {printable(str(file.poll['title']))}")
    elif isinstance(file.poll, str):
        out(f"Poll: {printable(file.poll)}")
    out(f"Method: {method.label} ({method.name}), {tally.seats} seat(s)")
    out("Candidates, in the list order that breaks ties:")
    for candidate in tally.candidates:
        out(f"  {who(candidate)}")
    title = "Winner" if len(tally.winners) == 1 else "Winners"
    out(f"{title}: {', '.join(who(c) for c in tally.winners)}")

    if tally.scores is not None:
        out("")
        out("Scores:")
        width = max(len(_figure(s)) for s in tally.scores)
        name_width = max(len(who(c)) for c in tally.candidates)
        for candidate in tally.ranking:
            score = tally.scores[tally.candidates.index(candidate)]
            mark = "  elected" if candidate in tally.winners else ""
            out(f"  {who(candidate):<{name_width}}  {_figure(score):>{width}}{mark}")
    if tally.pairwise is not None:
        out("")
        out("Pairwise preferences d[X,Y]: voters who rank row X above column Y")
        lines.extend(_matrix(tally.candidates, tally.pairwise))
    if tally.strongest_paths is not None:
        out("")
        out("Strongest paths p[X,Y] (X beats Y when p[X,Y] > p[Y,X])")
        lines.extend(_matrix(tally.candidates, tally.strongest_paths))
        out("")
        out("Schulze ranking: " + " > ".join(str(c) for c in tally.ranking))
    if tally.quota is not None:
        out("")
        valid = tally.ballots - tally.blank
        out(
            f"Valid ballots {valid}; quota floor({valid} / ({tally.seats} + 1)) + 1 = {tally.quota}"
        )
        lines.extend(_stv_stages(tally, who))
    if tally.tie_breaks:
        out("")
        out("Decided by the tie rule (candidate-list order):")
        for note in tally.tie_breaks:
            out(f"  {note}")
    return "\n".join(lines)


def _figure(value: Figure) -> str:
    """A figure written exactly: ``12``, ``1.5``, ``9007199254740993.5``."""
    exact = figure_decimal(value)
    whole = exact.to_integral_value()
    return f"{whole:f}" if exact == whole else f"{exact:f}"


def _fixed(value: Figure) -> str:
    """A figure with the five decimals of an STV count, exactly: ``2.99997``."""
    return f"{figure_decimal(value):.5f}"


def _matrix(candidates: list[CandidateId], rows: list[list[int]]) -> list[str]:
    labels = [str(c) for c in candidates]
    width = max(max(len(label) for label in labels), *(len(str(v)) for row in rows for v in row))
    head = " " * (width + 3) + " ".join(f"{label:>{width}}" for label in labels)
    body = [
        f"  {labels[i]:>{width}} "
        + " ".join(f"{'-' if i == j else value:>{width}}" for j, value in enumerate(row))
        for i, row in enumerate(rows)
    ]
    return [head.rstrip(), *body]


def _stv_stages(tally: Tally, who: Any) -> list[str]:
    lines = []
    for stage in tally.rounds:
        if stage.action == "first preferences":
            what = "first preferences"
        elif stage.action == "surplus":
            what = f"surplus of {who(stage.candidate)}: {_fixed(stage.surplus or 0)}"
        else:
            what = f"exclusion of {who(stage.candidate)}"
        lines.append(f"Stage {stage.stage}: {what}")
        for value in stage.transfer_values:
            moved = f"{value.papers} paper(s) at {_fixed(value.value)}"
            if stage.action == "surplus":
                moved += f" -> transfer value {_fixed(value.transfer_value)}"
            if value.non_transferable:
                moved += f"; {value.non_transferable} non-transferable"
            lines.append(f"  {moved}")
        if stage.non_transferable or stage.rounding:
            lines.append(
                f"  set aside {_fixed(stage.non_transferable)} non-transferable, "
                f"{_fixed(stage.rounding)} lost to rounding"
            )
        for note in stage.notes:
            lines.append(f"  {note}")
        if stage.elected:
            lines.append(f"  elected: {', '.join(who(c) for c in stage.elected)}")
    lines.append("")
    lines.append("Votes at the end of each stage (columns: candidates)")
    labels = [str(c) for c in tally.candidates]
    width = max(10, *(len(label) for label in labels))
    lines.append("  stage " + " ".join(f"{label:>{width}}" for label in labels))
    for stage in tally.rounds:
        lines.append(
            f"  {stage.stage:>5} " + " ".join(f"{_fixed(votes):>{width}}" for votes in stage.votes)
        )
    return lines
