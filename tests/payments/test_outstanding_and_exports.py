"""Staff's list of outstanding balances and the CSV exports: what they show, their filters and order,
formula cells defused, and a fixed number of statements whatever the number of accounts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.db import utc_today, utcnow
from refportal.extensions import db
from refportal.payments.models import Charge, FeeAccount, FeeKind, Payment, PaymentMethod, Refund, Waiver, WaiverKind
from tests.builders import logged_in
from tests.factories import ChargeFactory, PaymentFactory, RefundFactory, RenewalFactory, UserFactory, WaiverFactory
from tests.payments.staff_helpers import make_account, make_admin


@pytest.fixture
def admin(app):
    with app.app_context():
        make_admin()
    return logged_in(app, "admin@example.org")


def add_row(app, account_id, model, **values):
    with app.app_context():
        account = db.session.get(FeeAccount, account_id)
        row = model(account=account, **values)
        db.session.commit()
        return row.id


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture
def ledgers(app):
    """Owing (two, the older first), settled, in credit, a renewal owing, and one with nothing at all."""
    with app.app_context():
        older = make_account(email="older@example.org", name="Olive Older", days_ago=30)
        newer = make_account(email="newer@example.org", name="Nina Newer", days_ago=2)
        settled = make_account(email="settled@example.org", name="Sam Settled", days_ago=10)
        credit = make_account(email="credit@example.org", name="Cory Credit", days_ago=20)
        empty = make_account(email="empty@example.org", name="Emma Empty", charges=())
        renewal = RenewalFactory()
        renewal_account = FeeAccount(
            payer=renewal.endorsement.holder, renewal_id=renewal.id, label="Renewal of IMH-T0000001", currency="USD"
        )
        db.session.add(renewal_account)
        db.session.flush()
        ChargeFactory(
            account=renewal_account, kind=FeeKind.RENEWAL, amount_cents=10000, created_at=utcnow() - timedelta(days=5)
        )
        db.session.commit()
        ids = {
            "older": older.account_id,
            "newer": newer.account_id,
            "settled": settled.account_id,
            "credit": credit.account_id,
            "empty": empty.account_id,
            "renewal": renewal_account.id,
            "renewal_id": renewal.id,
        }
    add_row(app, ids["older"], PaymentFactory, amount_cents=1000)  # $15.00 left of $25.00
    add_row(app, ids["settled"], WaiverFactory, amount_cents=2500, kind=WaiverKind.SCHOLARSHIP)
    add_row(app, ids["credit"], PaymentFactory, amount_cents=4000, reference='=HYPERLINK("https://evil.example")')
    return ids


def test_the_list_shows_balances_owed_the_oldest_charge_first(app, admin, ledgers):
    page = admin.get("/staff/fees").get_data(as_text=True)
    names = ["Olive Older", "Cory Credit", "Sam Settled", "Nina Newer", "Emma Empty"]
    shown = [name for name in names if name in page]
    assert shown == ["Olive Older", "Nina Newer"]
    assert page.index("Olive Older") < page.index("Renewal of IMH-T0000001") < page.index("Nina Newer")
    assert "3 accounts." in page
    assert "$15.00" in page and "$10.00" in page  # Olive's balance and what settled it
    assert 'href="/review/applications/' in page  # what it is for: the application's file
    assert f'href="/staff/renewals/{ledgers["renewal_id"]}"' in page  # or the renewal's staff page
    assert f'href="/staff/fees/accounts/{ledgers["older"]}"' in page
    oldest = (utc_today() - timedelta(days=30)).isoformat()
    assert oldest in page


def test_the_list_filters_accounts_in_credit_all_with_activity_and_by_kind(app, admin, ledgers):
    credit = admin.get("/staff/fees?balance=credit").get_data(as_text=True)
    assert "Cory Credit" in credit and "$15.00 in credit" in credit and "Olive Older" not in credit
    everything = admin.get("/staff/fees?balance=all").get_data(as_text=True)
    for name in ("Olive Older", "Nina Newer", "Sam Settled", "Cory Credit"):
        assert name in everything
    assert "Emma Empty" not in everything  # no row in its ledger: no activity
    renewals = admin.get("/staff/fees?kind=renewal").get_data(as_text=True)
    assert "Renewal of IMH-T0000001" in renewals and "Olive Older" not in renewals
    applications = admin.get("/staff/fees?kind=application").get_data(as_text=True)
    assert "Renewal of IMH-T0000001" not in applications and "Olive Older" in applications
    for hostile in ("balance=nonsense", "kind=%00", "page=-1", "page=99999999999"):
        assert admin.get(f"/staff/fees?{hostile}").status_code == 200, hostile


def test_the_list_is_paged_keeping_its_filters(make_app):
    app = make_app(QUEUE_PAGE_SIZE=2)
    with app.app_context():
        make_admin()
        for n in range(5):
            make_account(email=f"p{n}@example.org", name=f"Payer {n}", days_ago=10 - n)
    admin = logged_in(app, "admin@example.org")
    first = admin.get("/staff/fees?kind=application").get_data(as_text=True)
    assert "Payer 0" in first and "Payer 1" in first and "Payer 2" not in first
    assert "page 1 of 3" in first
    assert 'href="/staff/fees?page=2&amp;kind=application"' in first
    third = admin.get("/staff/fees?kind=application&page=3").get_data(as_text=True)
    assert "Payer 4" in third and "Payer 3" not in third and 'rel="prev"' in third


def test_the_accounts_csv_has_every_account_with_activity_in_currency_units(app, admin, ledgers):
    rows = {row["email"]: row for row in csv_rows(admin.get("/staff/fees.csv"))}
    assert set(rows) == {
        "older@example.org",
        "newer@example.org",
        "settled@example.org",
        "credit@example.org",
        rows_email_of_renewal(app, ledgers),
    }
    older = rows["older@example.org"]
    assert (older["payer"], older["currency"], older["charged"], older["paid"], older["balance"]) == (
        "Olive Older",
        "USD",
        "25.00",
        "10.00",
        "15.00",
    )
    assert older["oldest_charge_owed"] == (utc_today() - timedelta(days=30)).isoformat()
    assert rows["settled@example.org"]["waived"] == "25.00" and rows["settled@example.org"]["balance"] == "0.00"
    assert rows["credit@example.org"]["balance"] == "-15.00"


def rows_email_of_renewal(app, ledgers) -> str:
    with app.app_context():
        return db.session.get(FeeAccount, ledgers["renewal"]).payer.email


def test_formula_cells_are_defused_in_both_exports(app, admin, ledgers):
    with app.app_context():
        db.session.execute(sa.update(FeeAccount).where(FeeAccount.id == ledgers["older"]).values(label="=1+2"))
        db.session.execute(sa.text("UPDATE user_account SET name = '@SUM(A1)' WHERE email = 'older@example.org'"))
        db.session.commit()
    rows = {row["email"]: row for row in csv_rows(admin.get("/staff/fees.csv"))}
    assert rows["older@example.org"]["for"] == "'=1+2"
    assert rows["older@example.org"]["payer"] == "'@SUM(A1)"
    assert rows["credit@example.org"]["balance"] == "-15.00"  # a number stays a number
    ledger = csv_rows(admin.get("/staff/fees/ledger.csv"))
    (payment,) = [row for row in ledger if row["email"] == "credit@example.org" and row["type"] == "payment"]
    assert payment["reference_or_reason"] == '\'=HYPERLINK("https://evil.example")'
    assert all(row["for"] == "'=1+2" for row in ledger if row["email"] == "older@example.org")


def test_the_ledger_csv_has_one_row_per_ledger_row_with_receipt_numbers(app, admin, ledgers):
    payment_id = add_row(app, ledgers["newer"], PaymentFactory, amount_cents=2500, method=PaymentMethod.BANK_TRANSFER)
    with app.app_context():
        RefundFactory(payment=db.session.get(Payment, payment_id), amount_cents=500, reason="Overpaid")
        db.session.commit()
        receipt = db.session.get(Payment, payment_id).receipt_number
    rows = [row for row in csv_rows(admin.get("/staff/fees/ledger.csv")) if row["email"] == "newer@example.org"]
    assert [(r["type"], r["kind_or_method"], r["amount"]) for r in rows] == [
        ("charge", "application", "25.00"),
        ("payment", "bank_transfer", "25.00"),
        ("refund", "bank_transfer", "5.00"),
    ]
    assert rows[1]["receipt"] == receipt and rows[2]["receipt"] == receipt
    assert rows[2]["reference_or_reason"] == "Overpaid"
    everything = csv_rows(admin.get("/staff/fees/ledger.csv"))
    with app.app_context():
        expected = sum(
            db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Charge, Payment, Waiver, Refund)
        )
    assert len(everything) == expected


def test_the_ledger_csv_marks_a_voided_charge(app, admin, ledgers):
    with app.app_context():
        charge = ChargeFactory(
            account=db.session.get(FeeAccount, ledgers["newer"]),
            kind=FeeKind.MEMBERSHIP,
            amount_cents=5000,
            voided_at=utcnow(),
        )
        db.session.commit()
        del charge
    rows = [r for r in csv_rows(admin.get("/staff/fees/ledger.csv")) if r["kind_or_method"] == "membership"]
    assert rows[0]["voided"] == utc_today().isoformat()


def statements(app, browser, url) -> int:
    """The statements a GET of `url` runs, its whole body read (a CSV is written as it is sent)."""
    counted = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args, **kwargs: counted.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        response = browser.get(url)
        assert response.status_code == 200, url
        response.get_data()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(counted)


def add_accounts(app, count: int, start: int) -> None:
    """`count` accounts, each with a charge, a payment, a waiver and a refund."""
    with app.app_context():
        for n in range(start, start + count):
            payer = UserFactory(email=f"bulk{n}@example.org", name=f"Bulk {n}")
            account = FeeAccount(payer=payer, application_id=None, renewal_id=None, label=f"Bulk {n}", currency="USD")
            account.renewal_id = RenewalFactory(endorsement__holder=payer).id
            db.session.add(account)
            db.session.flush()
            ChargeFactory(account=account, amount_cents=9000)
            payment = PaymentFactory(account=account, amount_cents=1000)
            WaiverFactory(account=account, amount_cents=1000)
            RefundFactory(payment=payment, amount_cents=100)
        db.session.commit()


def test_the_list_and_the_exports_run_as_many_statements_for_30_accounts_as_for_3(app, admin):
    urls = ("/staff/fees", "/staff/fees?balance=all", "/staff/fees.csv", "/staff/fees/ledger.csv")
    add_accounts(app, 3, 0)
    small = {url: statements(app, admin, url) for url in urls}
    add_accounts(app, 27, 3)
    large = {url: statements(app, admin, url) for url in urls}
    assert large == small
    assert all(count <= 8 for count in small.values()), small


def test_an_account_page_runs_as_many_statements_with_ten_times_the_rows(app, admin):
    with app.app_context():
        made = make_account(email="many@example.org", charges=((FeeKind.APPLICATION, 900000),))
    admin_id = admin_user_id(app)

    def add_rows(count):
        with app.app_context():
            account = db.session.get(FeeAccount, made.account_id)
            for _ in range(count):
                payment = PaymentFactory(account=account, amount_cents=1000, recorded_by_id=admin_id)
                RefundFactory(payment=payment, amount_cents=100, refunded_by_id=admin_id)
                WaiverFactory(account=account, amount_cents=100, granted_by_id=admin_id)
            db.session.commit()

    add_rows(1)
    one = statements(app, admin, f"/staff/fees/accounts/{made.account_id}")
    add_rows(9)
    assert statements(app, admin, f"/staff/fees/accounts/{made.account_id}") == one


def admin_user_id(app) -> int:
    from refportal.accounts.models import User

    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == "admin@example.org"))
