"""The CSV text under :mod:`rnnkit.data.timeseries`: reading it as UTF-8, finding its
delimiter, checking its shape (quotes, ragged rows, duplicate names) and numbering its data
rows as a spreadsheet does (header = row 1), plus the small helpers that word the one-line
errors.

Delimiter: a comma, unless the header has no comma and splits on a semicolon, a tab or a bar
into as many fields as the first data row does. A semicolon is what spreadsheets write where
the comma is the decimal mark (German, French, ... settings); in such a file a number may be
written ``1234,5`` (``decimal_point``)."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from rnnkit.errors import DataError

__all__ = ["check_shape", "data_rows", "decimal_point", "delimiter", "plural", "read_text", "row_list", "where"]

GZIP, ZIP, OLE2 = b"\x1f\x8b", b"PK\x03\x04", b"\xd0\xcf\x11\xe0"  # magic bytes; OLE2: Excel 97-2003 (.xls)
UTF16 = (b"\xff\xfe", b"\xfe\xff")  # UTF-16's byte-order marks
OTHER_DELIMITERS = (";", "\t", "|")  # tried, in this order, when the header has no comma
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")  # 1234,5  -0,25  3,0e-2


def where(path: str, row: int | None = None, column: str | None = None) -> str:
    parts = [path]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def row_list(rows: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _excel(data: bytes) -> bool:
    """Whether a zip archive's bytes are an Excel workbook (.xlsx: its part names start xl/)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return any(name.startswith("xl/") for name in z.namelist())
    except zipfile.BadZipFile:
        return False


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), UTF-16 with its byte-order mark (Excel's
    "Unicode text"), either one gzip-compressed (``sales.csv.gz``). An Excel workbook or another zip
    archive is one line saying what it is."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    data = path.read_bytes()
    if data[:2] == GZIP:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: a damaged gzip file ({err})") from None
    if data[:4] == OLE2 or (data[:4] == ZIP and _excel(data)):
        raise DataError(f"{path}: an Excel workbook, not a CSV file; save the sheet as CSV (UTF-8), or read it with "
                        "pandas.read_excel and write it with to_csv")
    if data[:4] == ZIP:
        raise DataError(f"{path}: a zip archive, not a CSV file; unzip it first")
    encoding = "UTF-16" if data[:2] in UTF16 else "UTF-8"
    try:
        text = data.decode("utf-16" if encoding == "UTF-16" else "utf-8-sig")
    except UnicodeDecodeError as err:
        row = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"{where(str(path), row)}: byte 0x{data[err.start]:02x} is not {encoding}; "
            "save the file as UTF-8"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected a header row and data rows")
    return text


def delimiter(text: str) -> str:
    """The file's delimiter (module doc): "," unless the header holds none and another splits the header
    and the first data row alike into several fields."""
    lines = [line for line in text.splitlines() if line.strip()][:2]
    if "," in lines[0] or len(lines) < 2:
        return ","
    for d in OTHER_DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=d))) for line in lines]
        if counts[0] > 1 and counts[0] == counts[1]:
            return d
    return ","


def decimal_point(cells):
    """A pandas Series of text with each number written with a decimal comma (``1234,5``) rewritten with a
    point; every other cell as it is."""
    comma = cells.str.fullmatch(_DECIMAL_COMMA)
    return cells.where(~comma, cells.str.replace(",", ".", regex=False))


def check_shape(path: str, text: str, sep: str = ",") -> list[str]:
    """Header names; a ragged row (wrong number of fields) is an error naming the row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=sep)
    try:
        records = list(reader)
    except csv.Error as err:  # an unclosed quote, a bare carriage return in a field, ...
        raise DataError(f"{where(path, max(reader.line_num, 1))}: not valid CSV ({err})") from None
    header = [h.strip() for h in records[0]]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"{where(path, 1)}: duplicate column name {dupes[0]!r} in the header")
    for i, rec in enumerate(records[1:], start=2):
        if rec and len(rec) != len(header):
            raise DataError(
                f"{where(path, i)}: has {len(rec)} fields but the header has {len(header)}"
            )
    if not any(records[1:]):
        raise DataError(f"{path}: has a header but no data rows")
    return header



def data_rows(text: str, sep: str = ",") -> list[int]:
    """Spreadsheet row number of each non-blank data record (header = row 1)."""
    out, line = [], 1
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    next(reader)
    line = reader.line_num
    for rec in reader:
        if rec:
            out.append(line + 1)
        line = reader.line_num
    return out
