"""Order numbers customers see: ``FM-`` + 8 random characters, never sequential or guessable."""

from __future__ import annotations

import secrets

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "FM-"
LENGTH = 8


def order_number_generate() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def order_number_is_well_formed(value: str) -> bool:
    return (
        len(value) == len(PREFIX) + LENGTH
        and value.startswith(PREFIX)
        and all(c in ALPHABET for c in value[len(PREFIX) :])
    )
