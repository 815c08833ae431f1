"""CSV out, streamed: rows are written as they are read, so an export of 100,000 orders never holds them all
in memory (``StreamingHttpResponse`` for the admin, a file for ``manage.py export``).

Cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return: "CSV injection") are prefixed with ``'``; numbers are written as they are.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.http import StreamingHttpResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file whose ``write`` hands the line back, so ``csv.writer`` can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The CSV text, one line at a time: the header, then each row as it comes."""
    writer = csv.writer(_Echo())
    try:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_safe(value) for value in row])
    finally:
        # A download cut short closes this generator; close the rows too, so their server-side cursor goes now.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_write(fh, *, header: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write the CSV to an open text file; returns the number of rows (the header not counted)."""
    written = -1
    for written, line in enumerate(csv_lines(header, rows), start=-1):  # noqa: B007 (the count is the result)
        fh.write(line)
    return written + 1


# Rows are fetched this many at a time through a server-side cursor (``QuerySet.iterator``).
CHUNK_SIZE = 2000


@functools.cache
def _exponent(currency: str) -> int:
    from flowmart.money import Money

    return Money(0, currency).exponent


def money_cell(amount_minor: int | None, currency: str):
    """An amount as a decimal number in its currency's unit (``12.50``), for spreadsheets (what
    ``Money.as_decimal`` gives, without building a Money per cell: an export writes millions)."""
    return "" if amount_minor is None else Decimal(int(amount_minor)).scaleb(-_exponent(currency))


def time_cell(value) -> str:
    return value.isoformat() if value is not None else ""


@dataclass(frozen=True)
class CsvExport:
    """One export: its columns and a lazy iterator over its rows (nothing is read before iteration)."""

    header: list[str]
    rows: Iterable[Sequence]
