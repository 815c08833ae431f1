"""Money as integer minor units plus an ISO 4217 currency code. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# Minor-unit exponents that differ from 2 (ISO 4217).
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "KWD": 3, "BHD": 3, "JOD": 3, "TND": 3}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money_from_payload(payload: dict, field: str = "amount_minor") -> Money | None:
    """The amount an event payload carries as ``<field>`` + ``currency``; None when it carries none."""
    try:
        return Money(int(payload[field]), payload.get("currency") or "USD")
    except (KeyError, TypeError, ValueError):
        return None


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("Money.amount_minor must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 code")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | str, currency: str) -> Money:
        exponent = _EXPONENTS.get(currency, 2)
        quantum = Decimal(1).scaleb(-exponent)
        minor = (Decimal(amount).quantize(quantum, rounding=ROUND_HALF_EVEN) * (10**exponent)).to_integral_exact()
        return cls(int(minor), currency)

    @property
    def exponent(self) -> int:
        return _EXPONENTS.get(self.currency, 2)

    def as_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-self.exponent)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if not isinstance(quantity, int):
            raise TypeError("multiply Money by an int quantity only")
        return Money(self.amount_minor * quantity, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor <= other.amount_minor

    def percentage(self, percent: int | Decimal) -> Money:
        """``percent`` of this amount, rounded half-even to the minor unit."""
        value = (Decimal(self.amount_minor) * Decimal(percent) / 100).to_integral_value(rounding=ROUND_HALF_EVEN)
        return Money(int(value), self.currency)

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split without losing a cent: remainders go to the first parts."""
        total = sum(ratios)
        if total <= 0:
            raise ValueError("ratios must add up to more than zero")
        shares = [self.amount_minor * r // total for r in ratios]
        for i in range(self.amount_minor - sum(shares)):
            shares[i % len(shares)] += 1
        return [Money(s, self.currency) for s in shares]

    def as_dict(self) -> dict:
        return {"amount_minor": self.amount_minor, "currency": self.currency}

    def __str__(self) -> str:
        symbol = _SYMBOLS.get(self.currency)
        value = f"{abs(self.as_decimal()):,.{self.exponent}f}"
        sign = "-" if self.amount_minor < 0 else ""
        return f"{sign}{symbol}{value}" if symbol else f"{sign}{value} {self.currency}"
