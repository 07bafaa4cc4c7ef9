"""The ledger's rows. Amounts are integer cents in the account's currency; nothing here is ever
updated to change what was owed or paid: a charge no longer owed is voided (while nothing of it is
paid), a payment given back is a refund row."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.db import Base, UTCDateTime, enum_column, utcnow


class FeeKind(enum.StrEnum):
    APPLICATION = "application"
    PROCESSING = "processing"
    MEMBERSHIP = "membership"
    RENEWAL = "renewal"
    LATE = "late"
    REINSTATEMENT = "reinstatement"

    @property
    def label(self) -> str:
        return FEE_LABELS[self]


FEE_LABELS = {
    FeeKind.APPLICATION: "Application fee",
    FeeKind.PROCESSING: "Processing fee",
    FeeKind.MEMBERSHIP: "Membership in the association",
    FeeKind.RENEWAL: "Renewal fee",
    FeeKind.LATE: "Late fee (renewal submitted after the period ended)",
    FeeKind.REINSTATEMENT: "Reinstatement fee",
}


# The fees an applicant pays before the referee requests go out (FEE_APPLICATION_FEE_DUE=opening).
DUE_BEFORE_REQUESTS = (FeeKind.APPLICATION, FeeKind.REINSTATEMENT)


class PaymentMethod(enum.StrEnum):
    CARD = "card"  # online, through Stripe Checkout
    CHEQUE = "cheque"
    PURCHASE_ORDER = "purchase_order"
    BANK_TRANSFER = "bank_transfer"

    @property
    def label(self) -> str:
        return {
            PaymentMethod.CARD: "Card (online)",
            PaymentMethod.CHEQUE: "Cheque",
            PaymentMethod.PURCHASE_ORDER: "Purchase order",
            PaymentMethod.BANK_TRANSFER: "Bank transfer",
        }[self]


class WaiverKind(enum.StrEnum):
    WAIVER = "waiver"
    SCHOLARSHIP = "scholarship"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CheckoutStatus(enum.StrEnum):
    OPEN = "open"  # the payer may still pay it at Stripe
    PAID = "paid"  # its signed webhook recorded the payment
    EXPIRED = "expired"  # replaced (the amount owed changed) or expired at Stripe
    REJECTED = "rejected"  # Stripe reported an amount or currency other than the session's


class FeeAccount(Base):
    """What one application or one renewal owes and what settled it; its payer is the applicant or
    endorsee. `label` names what it pays for, as the staff lists and receipts show it."""

    __tablename__ = "fee_account"
    __table_args__ = (sa.CheckConstraint("(application_id IS NULL) <> (renewal_id IS NULL)", name="one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    renewal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("endorsement_renewal.id", ondelete="CASCADE"), unique=True
    )
    label: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payer: Mapped[User] = relationship()
    charges: Mapped[list[Charge]] = relationship(order_by="Charge.id", back_populates="account")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", back_populates="account")
    waivers: Mapped[list[Waiver]] = relationship(order_by="Waiver.id", back_populates="account")


class Charge(Base):
    """One fee owed, at the amount of the schedule when it was posted (a later schedule never
    rewrites it). At most one of each kind per account; voided when no longer owed."""

    __tablename__ = "fee_charge"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "kind", name="uq_fee_charge_kind"),
        sa.CheckConstraint("amount_cents > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FeeKind] = mapped_column(enum_column(FeeKind))
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[FeeAccount] = relationship(back_populates="charges")

    @property
    def is_owed(self) -> bool:
        return self.voided_at is None


class CheckoutSession(Base):
    """A Stripe Checkout Session opened for an account: the amount is the ledger's, never the
    browser's. At most one open per account, so two tabs pay one session."""

    __tablename__ = "fee_checkout_session"
    __table_args__ = (
        sa.Index(
            "uq_fee_checkout_one_open",
            "account_id",
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        ),
        sa.CheckConstraint("amount_cents > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_account.id", ondelete="CASCADE"), index=True)
    stripe_session_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[CheckoutStatus] = mapped_column(enum_column(CheckoutStatus), default=CheckoutStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[FeeAccount] = relationship()


class Payment(Base):
    """Money received: online by card (from its checkout's signed webhook) or recorded by staff
    (cheque, purchase order, bank transfer). Its receipt number is derived from its id."""

    __tablename__ = "fee_payment"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_account.id", ondelete="CASCADE"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    received_on: Mapped[date] = mapped_column(sa.Date)
    # A cheque's or purchase order's number, a transfer's reference; the PaymentIntent for a card.
    reference: Mapped[str] = mapped_column(sa.String(120), default="")
    checkout_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_checkout_session.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[FeeAccount] = relationship(back_populates="payments")
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", back_populates="payment")

    @property
    def receipt_number(self) -> str:
        return receipt_number(self.id, self.created_at)

    @property
    def refunded_cents(self) -> int:
        return sum(refund.amount_cents for refund in self.refunds)

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.refunded_cents


def receipt_number(payment_id: int, created_at: datetime) -> str:
    """R-<year>-<id>: stable, unique, and in the order payments were recorded."""
    return f"R-{created_at.year}-{payment_id:06d}"


class Waiver(Base):
    """An amount staff forgave (a waiver, or a scholarship), with its reason."""

    __tablename__ = "fee_waiver"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[WaiverKind] = mapped_column(enum_column(WaiverKind))
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(500))
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[FeeAccount] = relationship(back_populates="waivers")


class Refund(Base):
    """Money given back from one payment (through Stripe for a card payment)."""

    __tablename__ = "fee_refund"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_payment.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(500))
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    refunded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class StripeEvent(Base):
    """A Stripe webhook event already handled: a replayed or repeated event is acknowledged and
    changes nothing."""

    __tablename__ = "fee_stripe_event"

    event_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    outcome: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
