from __future__ import annotations

import pytest

from tests.payments.helpers import WEBHOOK_SECRET, stripe_settings, webhook_poster
from tests.payments.stripe_standin import StripeStandin


@pytest.fixture
def standin():
    """The Stripe stand-in on loopback (its webhooks go to `paying_app` once that is built)."""
    server = StripeStandin(webhook_secret=WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def paying_app(make_app, standin):
    """The portal with online payment on, talking to the stand-in, which sends its webhooks back."""
    app = make_app(**stripe_settings(standin))
    standin.deliver = webhook_poster(app)
    return app
