"""The one place that talks to Stripe, through the official `stripe` library: a client built from
STRIPE_SECRET_KEY and STRIPE_API_BASE (the tests point it at a stand-in on loopback). Without both
Stripe secrets online payment is off."""

from __future__ import annotations

from typing import Any, cast

import stripe
from flask import current_app

from refportal.exceptions import Refused
from refportal.payments.models import Payment, PaymentMethod


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


class GatewayError(Exception):
    """Stripe could not be reached, or refused the call: `message` says so in words a payer reads."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _failed(action: str, error: stripe.StripeError) -> GatewayError:
    current_app.logger.warning("stripe: %s failed: %s", action, error)
    if isinstance(error, stripe.APIConnectionError):
        return GatewayError(f"The card payment service could not be reached to {action}. Try again in a few minutes.")
    return GatewayError(
        f"The card payment service refused to {action} ({error.http_status or 'no status'}). Try again later, "
        "or ask the association how else to pay.",
        code=getattr(error, "code", None),
    )


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> stripe.checkout.Session:
    """A Checkout Session at Stripe (mode=payment, the line item the caller built)."""
    try:
        return stripe_client().v1.checkout.sessions.create(
            params=cast("Any", params), options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as error:
        raise _failed("open the payment page", error) from error


def expire_checkout_session(session_id: str) -> stripe.checkout.Session:
    """Close an open Checkout Session at Stripe (nobody can pay it any more)."""
    try:
        return stripe_client().v1.checkout.sessions.expire(session_id)
    except stripe.StripeError as error:
        raise _failed("close the previous payment page", error) from error


def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    try:
        return stripe_client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as error:
        raise _failed("look up the previous payment page", error) from error


def refund_card_payment(payment: Payment, amount_cents: int, idempotency_key: str) -> str:
    """Give back `amount_cents` of a card payment through Stripe (its PaymentIntent is the payment's
    reference); returns Stripe's refund id. The same `idempotency_key` twice refunds once at Stripe.
    Refused (nothing given back) when Stripe cannot be reached or refuses."""
    if payment.method is not PaymentMethod.CARD or not payment.reference:
        raise Refused("Only a card payment made online can be refunded through Stripe.")
    if not online_payment_enabled():
        raise Refused(
            "Online payment is off (STRIPE_SECRET_KEY is not set): this card payment cannot be refunded here."
        )
    try:
        refund = stripe_client().v1.refunds.create(
            params={"payment_intent": payment.reference, "amount": amount_cents},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        current_app.logger.warning("stripe: refund of payment %s failed: %s", payment.id, error)
        why = error.user_message or "the card payment service could not be reached or refused it"
        raise Refused(f"Stripe did not make the refund: {why}. Nothing was given back; try again later.") from error
    if refund.status == "failed":
        raise Refused("Stripe reports the refund failed. Nothing was given back.")
    return refund.id
