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


def to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook, one sheet per frame: numbers as numbers, text always as text (xlsxwriter is told
    not to turn strings into formulas or links, and formula-looking text is neutralised as in CSV)."""
    import math
    import numbers

    import xlsxwriter

    buffer = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(buffer, options) as workbook:
        for name, frame in sheets.items():
            sheet = workbook.add_worksheet(str(safe_text(name))[:31])
            for col, header in enumerate(frame.columns):
                sheet.write_string(0, col, str(safe_text(str(header))))
            for row, values in enumerate(frame.astype(object).itertuples(index=False, name=None), start=1):
                for col, value in enumerate(values):
                    if isinstance(value, bool) or value is None:
                        sheet.write_string(row, col, "" if value is None else str(value))
                    elif isinstance(value, numbers.Real):  # numpy numbers too
                        if math.isfinite(float(value)):
                            sheet.write_number(row, col, float(value))
                    else:
                        sheet.write_string(row, col, str(safe_text(str(value))))
    return buffer.getvalue()
