"""The results pictures' geometry: the Schulze pairwise matrix and the STV stages.

The templates draw server-side SVG from these plain structures (no JavaScript), each with a
text alternative built from the same numbers, so what a screen reader hears is what the
picture shows. Coordinates are in SVG user units; nothing here formats for a language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from core.voting.base import CandidateId, Figure, Tally, figure_decimal

LABEL_WIDTH = 250  # room for "12. A theme's title" left of a bar or a matrix row
BAR_SPACE = 330  # the longest bar
ROW = 22  # one candidate's row in a chart
CELL = 46  # one cell of the pairwise matrix


class MatrixCell(msgspec.Struct, frozen=True, kw_only=True):
    x: int
    y: int
    value: int | None  # None on the diagonal
    against: int | None  # the opposite cell: voters preferring the column to the row
    outcome: str  # "beats", "loses", "ties" or "self"


class MatrixRow(msgspec.Struct, frozen=True, kw_only=True):
    candidate: CandidateId
    y: int
    elected: bool
    cells: list[MatrixCell]


class MatrixPicture(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    columns: list[tuple[CandidateId, int]]  # (candidate, x of the column's centre)
    rows: list[MatrixRow]
    duels: list[tuple[CandidateId, CandidateId, int, int]]  # (a, b, prefer a, prefer b), a < b


def matrix_picture(tally: Tally) -> MatrixPicture | None:
    """The pairwise matrix as a grid: a cell is green where the row's theme beats the column's."""
    if tally.pairwise is None:
        return None
    d = tally.pairwise
    candidates = tally.candidates
    top = 30
    rows = []
    for i, candidate in enumerate(candidates):
        y = top + i * CELL
        cells = []
        for j in range(len(candidates)):
            x = LABEL_WIDTH + j * CELL
            if i == j:
                cells.append(MatrixCell(x=x, y=y, value=None, against=None, outcome="self"))
                continue
            ahead, behind = d[i][j], d[j][i]
            outcome = "beats" if ahead > behind else "loses" if ahead < behind else "ties"
            cells.append(MatrixCell(x=x, y=y, value=ahead, against=behind, outcome=outcome))
        rows.append(
            MatrixRow(candidate=candidate, y=y, elected=candidate in tally.winners, cells=cells)
        )
    duels = [
        (candidates[i], candidates[j], d[i][j], d[j][i])
        for i in range(len(candidates))
        for j in range(i + 1, len(candidates))
    ]
    return MatrixPicture(
        width=LABEL_WIDTH + CELL * len(candidates) + 10,
        height=top + CELL * len(candidates) + 10,
        columns=[(c, LABEL_WIDTH + j * CELL + CELL // 2) for j, c in enumerate(candidates)],
        rows=rows,
        duels=duels,
    )


class StageBar(msgspec.Struct, frozen=True, kw_only=True):
    candidate: CandidateId
    y: int
    votes: Figure  # exact, as the tally reports it
    width: float
    status: str  # "elected" (at or before this stage), "excluded", or "continuing"


class StagePanel(msgspec.Struct, frozen=True, kw_only=True):
    stage: int
    action: str
    candidate: CandidateId | None
    y: int  # the panel's heading line
    bars: list[StageBar]
    elected: list[CandidateId]


class StagesPicture(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    quota: int
    quota_x: float
    bar_x: int
    panels: list[StagePanel]


def stages_picture(tally: Tally) -> StagesPicture | None:
    """One panel per STV stage: every candidate's votes at its end, against the quota line."""
    if not tally.rounds or tally.quota is None:
        return None
    candidates = tally.candidates
    # Geometry only: a bar's length may round, the figure written next to it does not.
    largest = max([tally.quota, *(float(v) for stage in tally.rounds for v in stage.votes)])
    scale = BAR_SPACE / (largest * 1.05) if largest else 0.0
    panel_height = 34 + ROW * len(candidates)
    elected: set[CandidateId] = set()
    excluded: set[CandidateId] = set()
    panels = []
    for index, stage in enumerate(tally.rounds):
        if stage.action == "exclusion" and stage.candidate is not None:
            excluded.add(stage.candidate)
        elected.update(stage.elected)
        y = index * panel_height + 18
        bars = []
        for i, candidate in enumerate(candidates):
            votes = stage.votes[i] if i < len(stage.votes) else 0
            status = (
                "elected"
                if candidate in elected
                else "excluded"
                if candidate in excluded
                else "continuing"
            )
            bars.append(
                StageBar(
                    candidate=candidate,
                    y=y + 10 + i * ROW,
                    votes=votes,
                    width=round(float(votes) * scale, 1),
                    status=status,
                )
            )
        panels.append(
            StagePanel(
                stage=stage.stage,
                action=stage.action,
                candidate=stage.candidate,
                y=y,
                bars=bars,
                elected=list(stage.elected),
            )
        )
    return StagesPicture(
        width=LABEL_WIDTH + BAR_SPACE + 70,
        height=panel_height * len(tally.rounds) + 10,
        quota=tally.quota,
        quota_x=round(LABEL_WIDTH + tally.quota * scale, 1),
        bar_x=LABEL_WIDTH,
        panels=panels,
    )


def figure(value: Figure) -> str:
    """A count as people read it: whole numbers without decimals, fractions to two places."""
    exact = figure_decimal(value)
    whole = exact.to_integral_value()
    return f"{whole:f}" if exact == whole else f"{exact:.2f}"


def pictures(tally: Tally) -> Mapping[str, Any]:
    """What the results template needs beyond the tally itself."""
    return {"matrix": matrix_picture(tally), "stages": stages_picture(tally), "figure": figure}
