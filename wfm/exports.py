"""File exports that are safe to open in a spreadsheet (DESIGN.md, Security: exports)."""

from __future__ import annotations

import csv
import io

import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula (or a DDE command).
_FORMULA_START = ("=", "+", "-", "@", "|", "%", "\t", "\r", "\0")


def safe_text(value: object) -> object:
    """Neutralise text that a spreadsheet would run; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> str:
    """CSV text of ``frame`` with formula-looking text neutralised and missing values empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_text(str(c)) for c in frame.columns])
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
        writer.writerow(["" if v is None else safe_text(v) for v in row])
    return buffer.getvalue()
