"""Paying online (issue 28): a Stripe Checkout for what the ledger says is owed, reused by a second
tab, replaced when the amount changed; the return page; refusals. Against the Stripe stand-in."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.payments.models import CheckoutSession
from tests.factories import make_user
from tests.payments.helpers import applicant_with_fees, checkouts, owed, payments, session_of, stripe_page, waive
from tests.web import Browser, csrf_token_from


def audited(app, action: AuditAction) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_the_amount_is_the_ledgers_whatever_the_form_says(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    balance = owed(paying_app, payer.account_id)
    assert balance > 0
    response = payer.pay(amount="1", unit_amount="1", amount_cents="1", currency="JPY")
    session = standin.sessions[session_of(response)]
    assert stripe_page(response) == session["url"]
    [created] = standin.created()
    params = created.params
    assert params["mode"] == "payment" and params["payment_method_types"] == ["card"]
    [item] = params["line_items"]
    assert item["price_data"]["unit_amount"] == str(balance)
    assert item["price_data"]["currency"] == "usd"
    assert item["price_data"]["product_data"]["name"].startswith("Application ")
    assert params["client_reference_id"] == str(payer.account_id)
    assert params["customer_email"] == "a@example.org"
    [(session_id, cents, status)] = checkouts(paying_app, payer.account_id)
    assert (session_id, cents, status) == (session["id"], balance, "open")
    assert params["metadata"]["account_id"] == str(payer.account_id)
    checkout_id = int(params["metadata"]["checkout_id"])
    assert params["success_url"] == f"https://portal.example.test/fees/checkout/{checkout_id}/return"
    assert params["cancel_url"] == f"https://portal.example.test{payer.page}"
    assert audited(paying_app, AuditAction.FEE_CHECKOUT_OPENED) == 1


def test_a_second_tab_reuses_the_open_session(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    first = payer.pay()
    second = payer.pay()
    assert stripe_page(first) == stripe_page(second)
    assert len(standin.created()) == 1
    assert len(checkouts(paying_app, payer.account_id)) == 1


def test_when_the_amount_owed_changed_the_old_session_is_expired_and_a_new_one_opened(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    before = owed(paying_app, payer.account_id)
    first = session_of(payer.pay())
    waive(paying_app, payer.account_id, 500)
    second = payer.pay()
    new_id = session_of(second)
    assert standin.sessions[first]["status"] == "expired"
    assert any(r.path == f"/v1/checkout/sessions/{first}/expire" for r in standin.requests)
    assert new_id != first
    assert standin.sessions[new_id]["amount_total"] == before - 500
    assert checkouts(paying_app, payer.account_id) == [(first, before, "expired"), (new_id, before - 500, "open")]


def test_a_session_already_expired_at_stripe_is_replaced_too(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    first = session_of(payer.pay())
    standin.sessions[first]["status"] = "expired"  # Stripe expired it (24 hours), its webhook not yet here
    waive(paying_app, payer.account_id, 500)
    assert session_of(payer.pay())
    assert [status for _, _, status in checkouts(paying_app, payer.account_id)] == ["expired", "open"]


def test_a_session_paid_at_stripe_whose_webhook_is_on_its_way_is_not_replaced(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    first = session_of(payer.pay())
    standin.sessions[first].update(status="complete", payment_status="paid")
    waive(paying_app, payer.account_id, 500)
    response = payer.pay()
    assert response.status_code == 302 and response.headers["Location"] == payer.page
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "Your previous card payment is being processed" in page
    assert [status for _, _, status in checkouts(paying_app, payer.account_id)] == ["open"]
    assert len(standin.created()) == 1


def test_nothing_owed_is_refused_and_nothing_is_created(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    page = payer.browser.get(payer.page).get_data(as_text=True)
    waive(paying_app, payer.account_id, owed(paying_app, payer.account_id))
    response = payer.browser.client.post(
        payer.checkout_url, data={"csrf_token": csrf_token_from(page), "came_from": payer.page}
    )
    assert response.status_code == 302
    assert "Nothing is owed on this account" in payer.browser.get(payer.page).get_data(as_text=True)
    assert standin.requests == []
    assert checkouts(paying_app, payer.account_id) == []
    assert "by card" not in payer.browser.get(payer.page).get_data(as_text=True)


def test_stripe_failing_is_a_clear_message_and_nothing_is_recorded(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    for failure in ((500, "api_error"), (401, "invalid_request_error"), (400, "invalid_request_error")):
        standin.fail_with = failure
        response = payer.pay()
        assert response.status_code == 302 and response.headers["Location"] == payer.page
        page = payer.browser.get(payer.page).get_data(as_text=True)
        assert "The card payment service refused to open the payment page" in page
    assert checkouts(paying_app, payer.account_id) == []
    assert audited(paying_app, AuditAction.FEE_CHECKOUT_OPENED) == 0


def test_stripe_unreachable_is_a_clear_message(make_app):
    from tests.payments.helpers import WEBHOOK_SECRET
    from tests.smtp import free_port

    app = make_app(
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}",  # nothing listens there
    )
    payer = applicant_with_fees(app)
    response = payer.pay()
    assert response.status_code == 302
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "The card payment service could not be reached" in page
    assert checkouts(app, payer.account_id) == []


def test_the_back_link_given_to_stripe_is_a_local_path_only(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    for hostile in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "https://[zz]/",
        "a",
    ):
        waive(paying_app, payer.account_id, 100)  # a new session each time
        response = payer.pay(came_from=hostile)
        assert session_of(response), hostile
        assert standin.created()[-1].params["cancel_url"] == "https://portal.example.test/dashboard", hostile


def test_only_the_payer_may_start_a_checkout_or_see_its_return_page(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    payer.pay()
    with paying_app.app_context():
        checkout_id = db.session.scalar(sa.select(CheckoutSession.id))
        make_user(email="b@example.org")
    other = Browser(paying_app.test_client())
    other.login("b@example.org")
    token = csrf_token_from(other.get("/dashboard").get_data(as_text=True))
    assert other.client.post(payer.checkout_url, data={"csrf_token": token}).status_code == 404
    assert other.get(f"/fees/checkout/{checkout_id}/return").status_code == 404
    assert payer.browser.get(f"/fees/checkout/{checkout_id}/return").status_code == 200
    assert len(standin.created()) == 1


def test_the_return_page_says_processing_until_the_webhook_then_paid(paying_app, standin, outbox):
    payer = applicant_with_fees(paying_app)
    session_id = session_of(payer.pay())
    return_url = standin.sessions[session_id]["success_url"].removeprefix("https://portal.example.test")
    # The payer comes back before Stripe's webhook: the redirect alone marks nothing paid.
    standin.sessions[session_id].update(status="complete", payment_status="paid")
    processing = payer.browser.get(return_url)
    assert processing.status_code == 200
    assert "Processing." in processing.get_data(as_text=True)
    assert processing.headers["Refresh"] == "3"
    assert payments(paying_app, payer.account_id) == []
    assert standin.pay(session_id) == 200
    paid = payer.browser.get(return_url)
    body = paid.get_data(as_text=True)
    assert "Paid." in body and "Refresh" not in paid.headers
    [(cents, method, reference, _)] = payments(paying_app, payer.account_id)
    assert (cents, method) == (standin.sessions[session_id]["amount_total"], "card")
    assert reference == standin.sessions[session_id]["payment_intent"]
    with paying_app.app_context():
        from refportal.payments.models import Payment

        number = db.session.scalars(sa.select(Payment)).one().receipt_number
    assert number in body
    assert owed(paying_app, payer.account_id) == 0
    assert [row.template for row in outbox("a@example.org")].count("payment_receipt") == 1
    assert "by card" not in payer.browser.get(payer.page).get_data(as_text=True)


def test_the_application_fee_alone_may_be_paid_first_when_it_is_due_at_opening(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    balance = owed(paying_app, payer.account_id)
    fee = paying_app.config["FEE_SCHEDULE"]["application"][2] * 100
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "Pay the application fee, $25.00, by card" in page and f"Pay ${balance / 100:.2f} by card" in page
    first = session_of(payer.pay(part="application_fee"))
    [created] = standin.created()
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == str(fee)
    assert created.params["line_items"][0]["price_data"]["product_data"]["name"].endswith(": application fee")
    # The other button: the whole balance, the fee-only session replaced.
    whole = session_of(payer.pay(part="balance"))
    assert standin.sessions[first]["status"] == "expired" and standin.sessions[whole]["amount_total"] == balance
    # Back to the fee alone, paid: the rest is still owed and only the one button is left.
    fee_session = session_of(payer.pay(part="application_fee"))
    assert standin.pay(fee_session) == 200
    assert owed(paying_app, payer.account_id) == balance - fee
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "Pay the application fee" not in page and f"Pay ${(balance - fee) / 100:.2f} by card" in page
    response = payer.pay(part="application_fee")
    assert response.status_code == 302
    assert "The application fee is not owed on its own now" in payer.browser.get(payer.page).get_data(as_text=True)
    assert payer.pay(part="everything").status_code == 400


def test_with_the_application_fee_due_at_submission_there_is_one_button(make_app, standin):
    from tests.payments.helpers import stripe_settings, webhook_poster

    app = make_app(FEE_APPLICATION_FEE_DUE="submission", **stripe_settings(standin))
    standin.deliver = webhook_poster(app)
    payer = applicant_with_fees(app)
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "Pay the application fee" not in page and "by card" in page
    assert payer.pay(part="application_fee").status_code == 302
    assert standin.created() == []
