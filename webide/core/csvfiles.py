"""CSV in and out: uploads decoded and bounded before they are parsed, exports safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from .errors import BadRequest, TooLarge

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of one exported cell, with a leading quote if a spreadsheet would otherwise run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180 line ends) whose every cell went through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def decode_upload(content: bytes) -> str:
    """The text of an uploaded CSV: UTF-8 (a byte-order mark is dropped); anything else is a clear 400."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f'The file is not UTF-8 text (byte {error.start + 1} is not valid); save it as "CSV UTF-8" and try again'
        ) from None


def read_rows(text: str, max_rows: int) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs of a CSV document with at most ``max_rows`` data rows (else 413)."""
    if text.count("\n") > max_rows + 1 and sum(1 for line in text.splitlines()[1:] if line.strip()) > max_rows:
        raise TooLarge(f"The file has more than {max_rows} rows; split it into several files")
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [
            (reader.line_num, row)
            for row in reader
            if any((value or "").strip() for value in row.values() if isinstance(value, str))
        ]
    except csv.Error as error:
        raise BadRequest(f"line {reader.line_num}: not valid CSV ({error})") from None
    if len(rows) > max_rows:
        raise TooLarge(f"The file has more than {max_rows} rows; split it into several files")
    return header, rows
