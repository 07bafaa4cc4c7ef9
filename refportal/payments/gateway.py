"""The one place that talks to Stripe, through the official `stripe` library: a client built from
STRIPE_SECRET_KEY and STRIPE_API_BASE (the tests point it at a stand-in on loopback). Without both
Stripe secrets online payment is off."""

from __future__ import annotations

import stripe
from flask import current_app


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
