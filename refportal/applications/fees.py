"""The fee breakdown, from the configured schedule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeeLine:
    label: str
    amount: int
    waived: bool = False


@dataclass(frozen=True)
class FeeBreakdown:
    currency: str
    lines: tuple[FeeLine, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines if not line.waived)


def fee_breakdown(*, schedule: dict, category: int, membership_fee_due: bool) -> FeeBreakdown:
    """Membership (waived for a current member), application and processing fees for a category."""
    return FeeBreakdown(
        currency=schedule.get("currency", "USD"),
        lines=(
            FeeLine("Membership in the association", schedule["membership"][category], waived=not membership_fee_due),
            FeeLine("Application fee", schedule["application"][category]),
            FeeLine("Processing fee", schedule["processing"][category]),
        ),
    )
