"""On PostgreSQL, requests at the same moment: webhooks about one session from several workers, the
same event delivered twice at once, and several tabs opening a checkout, each recorded once."""

from __future__ import annotations

from refportal.payments.models import PaymentMethod
from tests.payments.helpers import (
    applicant_with_fees,
    checkouts,
    events,
    payments,
    session_of,
    stripe_page,
    webhook_poster,
)
from tests.payments.stripe_standin import event, sign
from tests.support import require, run_together
from tests.web import Browser, csrf_token_from


def _needs_postgres(postgres_schema) -> None:
    if postgres_schema is None:
        require("PostgreSQL", "requests racing need a database that several connections share")


def _paid_session(app, standin):
    payer = applicant_with_fees(app)
    session_id = session_of(payer.pay())
    session = standin.sessions[session_id]
    session.update(status="complete", payment_status="paid", payment_intent="pi_test_race")
    return payer, session


def test_webhooks_about_one_session_at_once_record_one_payment(paying_app, standin, postgres_schema, outbox):
    _needs_postgres(postgres_schema)
    payer, session = _paid_session(paying_app, standin)
    kinds = ["checkout.session.completed", "checkout.session.async_payment_succeeded"] * 2
    payloads = [event(kind, session, f"evt_race_{n}") for n, kind in enumerate(kinds)]
    posters = [webhook_poster(paying_app) for _ in payloads]  # a client (and connection) each
    statuses = run_together(
        *[
            (lambda post=post, payload=payload: post(payload, sign(payload, standin.webhook_secret)))
            for post, payload in zip(posters, payloads, strict=True)
        ]
    )
    assert statuses == [200, 200, 200, 200]
    assert [p[:2] for p in payments(paying_app, payer.account_id)] == [(session["amount_total"], PaymentMethod.CARD)]
    outcomes = sorted(events(paying_app).values())
    assert [o for o in outcomes if o.startswith("paid: ")] and outcomes.count("already paid") == 3
    assert [row.template for row in outbox("a@example.org")].count("payment_receipt") == 1


def test_the_same_event_twice_at_once_is_handled_once(paying_app, standin, postgres_schema):
    _needs_postgres(postgres_schema)
    payer, session = _paid_session(paying_app, standin)
    payload = event("checkout.session.completed", session, "evt_twice")
    signature = sign(payload, standin.webhook_secret)
    posters = [webhook_poster(paying_app) for _ in range(4)]
    statuses = run_together(*[(lambda post=post: post(payload, signature)) for post in posters])
    assert statuses == [200, 200, 200, 200]
    assert len(payments(paying_app, payer.account_id)) == 1
    assert list(events(paying_app)) == ["evt_twice"]


def test_tabs_opening_a_checkout_at_once_open_one_session(paying_app, standin, postgres_schema):
    _needs_postgres(postgres_schema)
    payer = applicant_with_fees(paying_app)
    tabs = [Browser(paying_app.test_client()) for _ in range(4)]
    for tab in tabs:
        tab.login("a@example.org")
    tokens = [csrf_token_from(tab.get(payer.page).get_data(as_text=True)) for tab in tabs]
    responses = run_together(
        *[
            (lambda tab=tab, token=token: tab.client.post(payer.checkout_url, data={"csrf_token": token}))
            for tab, token in zip(tabs, tokens, strict=True)
        ]
    )
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert len({stripe_page(r) for r in responses}) == 1
    assert len(standin.created()) == 1
    assert [status for _, _, status in checkouts(paying_app, payer.account_id)] == ["open"]
