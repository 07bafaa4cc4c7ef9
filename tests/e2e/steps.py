"""What a person does in Chromium, shared by the browser journeys: log in, rate, finish a rating."""

from __future__ import annotations


def login(page, portal, email, password):
    page.goto(portal.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def rate(page, keys, score="4"):
    for key in keys:
        page.check(f"input[name=item_{key}][value='{score}']")


def finish_rating(page, name):
    page.check("#recommendation-0")
    page.fill("#strengths", f"{name}: warm and attuned with families.")
    page.fill("#growth", "Documentation could be quicker.")
    page.fill("#relationship_role", "Program supervisor")
    page.fill("#relationship_setting", "Home visiting")
    page.fill("#relationship_years", "3")
    page.fill("#attestation_name", name)
    page.check("#attest")


def staff_record_a_cheque(portal, payer_email: str) -> None:
    """What an administrator's "record a payment" does when the payer's cheque arrives: the balance of
    each of the payer's fee accounts that owes something, paid (the staff pages' own journey is
    tests/e2e/test_fee_ledger.py)."""
    import sqlalchemy as sa

    from refportal.accounts.models import User
    from refportal.db import utc_today
    from refportal.extensions import db
    from refportal.payments.charges import account_rows
    from refportal.payments.ledger import totals_of
    from refportal.payments.models import FeeAccount, PaymentMethod
    from refportal.payments.services import record_payment

    with portal.app.app_context():
        accounts = db.session.scalars(
            sa.select(FeeAccount)
            .join(User, FeeAccount.payer_id == User.id)
            .where(User.email == payer_email)
            .options(*account_rows())
        ).all()
        for account in accounts:
            owed = totals_of(account).balance
            if owed > 0:
                record_payment(
                    account=account,
                    method=PaymentMethod.CHEQUE,
                    amount_cents=owed,
                    received_on=utc_today(),
                    reference="Cheque 2041",
                )
        db.session.commit()
