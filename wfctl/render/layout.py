"""Column layout for terminal tables: what gives way when the terminal is narrow (README, "Output").

* **Ids, times, statuses and counts** (the columns that are not ``flex``) are printed whole or not at all:
  a column that cannot fit is dropped, never shortened. The essential columns (``rank`` 0, e.g. the run id)
  are always shown. An id column (``fold``) is as wide as its ordinary ids; an outlandish id (wider than 40
  cells and half the terminal), or any id when even the essential columns do not fit, wraps onto more
  lines inside its cell — every character stays, none is replaced by "…".
* **Names and messages** (``flex`` columns) give way first: they shrink, ending in "…", down to their
  ``min`` width; below it they are dropped too.
* Columns join in ``rank`` order while they fit; ``optional`` columns only when every column shown so far
  fits at its natural width (nothing is shortened to make room for them).

Rich's own table layout would shrink every column alike (ids and times included); here each column gets an
explicit width that fits, so Rich never has to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from rich import box as rich_box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

#: Columns are separated by three cells in the headed tables (padding, rule, padding), two in grids.
HEADED_GAP = 3
GRID_GAP = 2


@dataclass
class Column:
    header: str
    cells: list[Text] = field(default_factory=list)
    flex: bool = False
    rank: int = 0
    min: int = 8
    optional: bool = False
    fold: bool = False
    justify: str = "left"
    style: str = ""
    #: Rows whose cell is a time inside a message column: shown whole, or left empty when the column
    #: ends up narrower than it.
    whole: frozenset[int] = frozenset()

    def natural(self, header: bool) -> int:
        widths = [cell_len(c.plain) for c in self.cells]
        if header:
            widths.append(cell_len(self.header))
        return max(widths, default=0)

    def need(self, header: bool, width: int) -> int:
        """The narrowest this column may be: its natural width for ids and times, ``min`` for names and
        messages. A foldable id column needs only the width of its ordinary ids: an id wider than 40 cells
        and than half the terminal does not widen it (it wraps, when there is no room for it whole)."""
        natural = self.natural(header)
        head = cell_len(self.header) if header else 0
        if self.flex:
            return min(natural, max(self.min, head))
        if self.fold:
            limit = max(40, width // 2)
            return max([cell_len(c.plain) for c in self.cells if cell_len(c.plain) <= limit] + [head, 8])
        return natural


def fit(
    columns: Sequence[Column], width: int, *, gap: int = HEADED_GAP, header: bool = True
) -> list[tuple[Column, int]]:
    """The columns to show, in their given order, each with its width; the total never exceeds ``width``
    unless even the essential columns are wider (and no id may fold)."""
    natural = {id(c): c.natural(header) for c in columns}
    need = {id(c): min(c.need(header, width), natural[id(c)]) for c in columns}
    chosen = [c for c in columns if c.rank == 0]
    used = sum(need[id(c)] for c in chosen) + gap * max(0, len(chosen) - 1)
    for col in sorted((c for c in columns if c.rank > 0 and not c.optional), key=lambda c: c.rank):
        extra = need[id(col)] + (gap if chosen else 0)
        if used + extra <= width:
            chosen.append(col)
            used += extra
    full = sum(natural[id(c)] for c in chosen) + gap * max(0, len(chosen) - 1)
    for col in sorted((c for c in columns if c.optional), key=lambda c: c.rank):
        extra = natural[id(col)] + (gap if chosen else 0)
        if full + extra <= width:
            chosen.append(col)
            full += extra
            used += extra
    widths = {id(c): need[id(c)] for c in chosen}
    spare = width - used
    if spare < 0:
        # Even the essentials are too wide: fold the widest foldable ids (never below 8 cells).
        for col in sorted((c for c in chosen if c.fold), key=lambda c: -widths[id(c)]):
            give = min(-spare, widths[id(col)] - 8)
            if give > 0:
                widths[id(col)] -= give
                spare += give
            if spare >= 0:
                break
    # What is left goes to the ids that would otherwise wrap, if it makes them whole; then to the shortened
    # names and messages, a cell at a time (the narrowest is satisfied first); then to the wrapped ids.
    folded = [c for c in chosen if c.fold and widths[id(c)] < natural[id(c)]]
    if folded and spare >= sum(natural[id(c)] - widths[id(c)] for c in folded):
        for col in folded:
            spare -= natural[id(col)] - widths[id(col)]
            widths[id(col)] = natural[id(col)]
        folded = []
    wanting = [c for c in chosen if c.flex and widths[id(c)] < natural[id(c)]]
    while spare > 0 and wanting:
        for col in list(wanting):
            if spare <= 0:
                break
            widths[id(col)] += 1
            spare -= 1
            if widths[id(col)] >= natural[id(col)]:
                wanting.remove(col)
    for col in folded:
        give = min(spare, natural[id(col)] - widths[id(col)])
        widths[id(col)] += give
        spare -= give
    order = {id(c): i for i, c in enumerate(columns)}
    return [(c, widths[id(c)]) for c in sorted(chosen, key=lambda c: order[id(c)])]


def table(
    columns: Sequence[Column], width: int, *, headed: bool = True, show_header: bool = True, gap: int | None = None
) -> Table:
    """A Rich table of ``columns`` laid out by :func:`fit` for a terminal ``width`` cells wide."""
    if gap is None:
        gap = HEADED_GAP if headed else GRID_GAP
    placed = fit(columns, width, gap=gap, header=show_header)
    if headed:
        out = Table(box=rich_box.SIMPLE_HEAD, show_edge=False, show_header=show_header, pad_edge=False, expand=False)
    else:
        out = Table.grid(padding=(0, gap))
    for col, w in placed:
        out.add_column(
            col.header if show_header else "",
            width=w,
            no_wrap=not col.fold,
            overflow="fold" if col.fold else "ellipsis",
            justify=col.justify,  # type: ignore[arg-type]
            style=col.style or None,
        )
    rows = max((len(c.cells) for c in columns), default=0)
    for i in range(rows):
        cells = []
        for col, w in placed:
            cell = col.cells[i] if i < len(col.cells) else Text("")
            if i in col.whole and cell_len(cell.plain) > w:
                cell = Text("")
            cells.append(cell)
        out.add_row(*cells)
    return out


def shown(placed: Sequence[tuple[Column, int]]) -> list[str]:
    """The headers of the columns :func:`fit` kept (for tests and notes)."""
    return [c.header for c, _ in placed]
