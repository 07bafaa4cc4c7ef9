"""The one place that talks to Stripe, through the official `stripe` library: a client built from
STRIPE_SECRET_KEY and STRIPE_API_BASE (the tests point it at a stand-in on loopback). Without both
Stripe secrets online payment is off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe
from flask import current_app

if TYPE_CHECKING:
    from refportal.payments.models import Payment


def online_payment_enabled() -> bool:
    """Card payment needs the API key (to open checkouts) and the webhook secret (to hear of payments)."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def stripe_client() -> stripe.StripeClient:
    config = current_app.config
    if not online_payment_enabled():
        raise RuntimeError("online payment is off: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are not both set")
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": config["STRIPE_API_BASE"]},
        max_network_retries=2,
    )


def refund_card_payment(payment: Payment, amount_cents: int, idempotency_key: str) -> str:
    """Give back `amount_cents` of a card payment through Stripe (its PaymentIntent is the payment's
    reference); the same idempotency key never refunds twice. Returns Stripe's refund id."""
    refund = stripe_client().refunds.create(
        params={"payment_intent": payment.reference, "amount": amount_cents},
        options={"idempotency_key": idempotency_key},
    )
    return str(refund.id)
