"""Public, non-guessable numbers of shipments (``SHP-…``) and returns (``RMA-…``)."""

from __future__ import annotations

import secrets

# Crockford-like alphabet: no 0/O, 1/I/L confusion when read over the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _random_part(length: int = 8) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_shipment_number() -> str:
    return f"SHP-{_random_part()}"


def new_rma_number() -> str:
    return f"RMA-{_random_part()}"
