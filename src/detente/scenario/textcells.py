"""Text cells of spreadsheets and CSV files: keeping names from being run as formulas.

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some programs, a tab or carriage return) as a formula, so an actor named
``=HYPERLINK(...)`` written as plain text would run when the file is opened ("CSV
injection", OWASP). detente's writers therefore

* write such names to ``.xlsx`` as text cells (cell type string, with Excel's "quote
  prefix" flag set), which every spreadsheet shows as the name itself and reads back
  unchanged; and
* write them to CSV with one apostrophe in front (``'=HYPERLINK(...)``), the mark
  spreadsheet programs themselves use for "this is text". detente's CSV readers remove
  that apostrophe again, so reading a file back gives exactly the names written.

The rule is exact both ways: :func:`escape_formula` adds an apostrophe to a text whose
first character after any leading apostrophes is a trigger, and :func:`unescape_formula`
removes one apostrophe from exactly those texts. Texts that merely start with an
apostrophe (``'s-Hertogenbosch``) are left as they are.

Examples
--------
>>> escape_formula("=1+2"), escape_formula("'=1+2"), escape_formula("'s-Gravenhage")
("'=1+2", "''=1+2", "'s-Gravenhage")
>>> all(unescape_formula(escape_formula(t)) == t for t in ["=x", "'=x", "''@y", "'a", "-", "'", "plain"])
True
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "starts_formula", "escape_formula", "unescape_formula", "xlsx_row", "save_workbook"]

#: First characters that make a spreadsheet cell a formula (OWASP's list for CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula (it starts with a trigger)."""
    return text.startswith(FORMULA_TRIGGERS)


def _escaped_core(text: str) -> bool:
    return starts_formula(text.lstrip("'"))


def escape_formula(text: str) -> str:
    """``text`` as written to a CSV cell: an apostrophe in front when it could run as a formula."""
    return "'" + text if _escaped_core(text) else text


def unescape_formula(text: str) -> str:
    """The inverse of :func:`escape_formula` (used by detente's CSV readers)."""
    return text[1:] if text.startswith("'") and _escaped_core(text) else text


def xlsx_row(ws, values) -> list:
    """``values`` ready for ``ws.append`` on an openpyxl write-only sheet: formula-like text
    becomes a text cell (type string, quote prefix) instead of a live formula; everything
    else is passed through."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for v in values:
        if isinstance(v, str) and starts_formula(v):
            cell = WriteOnlyCell(ws, value=v)
            cell.data_type = "s"  # openpyxl makes text starting with '=' a formula
            cell.quotePrefix = True  # and Excel keeps showing it as text after an edit
            out.append(cell)
        else:
            out.append(v)
    return out


def save_workbook(wb, path) -> None:
    """Save an openpyxl workbook (write-only ones included) to ``path``.

    The workbook is first written into memory, so a path that cannot be written (a missing
    folder, no permission, a full disk) fails after openpyxl has closed its write-only sheets;
    saving straight to such a path leaves a sheet's row generator open, and its clean-up then
    fails later, at garbage collection, far from the cause.
    """
    import io
    from pathlib import Path

    buf = io.BytesIO()
    wb.save(buf)
    Path(path).write_bytes(buf.getvalue())
