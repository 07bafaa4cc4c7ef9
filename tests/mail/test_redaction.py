"""The staff mail console hides every secret of a message, whatever the message's other text says:
links are found by parsing (text and HTML), their secret parts hidden by the route they belong to,
and any other piece of a genuine portal token is hidden too."""

from __future__ import annotations

import hashlib
import html as html_module
import re
from html.parser import HTMLParser
from urllib.parse import quote, unquote

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from refportal.accounts.models import Role, User
from refportal.accounts.services import request_password_reset, send_verification_email
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.mail.sender import deliver_due
from refportal.mail_console import services as console
from refportal.references.links import link_token, send_link
from refportal.references.models import RefereePageAccess, Reference
from refportal.references.referee_page import send_requests_page_link
from refportal.security.tokens import PURPOSES, TokenExpired, TokenInvalid, load_token, make_token
from tests.core.access import ACCESS
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.mail.bounce_helpers import BOUNCE_BASE, PORTAL_FROM, SECRET, post_report, report_about
from tests.references.helpers import nominate_three, send_requests
from tests.web import Browser

BASE = "https://portal.example.test"
WINDOW = 8  # a piece of a signature this long or longer is "usable"


def windows(secret: str, size: int = WINDOW) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def signature(token: str) -> str:
    return token.rsplit(".", 1)[1]


def leaked(secret: str, *shown: str, size: int = WINDOW) -> set[str]:
    """The windows of `secret` that appear in any of `shown`."""
    return {w for w in windows(secret, size) for text in shown if w in text}


def as_decoded(html: str) -> str:
    return unquote(html_module.unescape(html))


def as_if_named(person: User | Reference, name: str) -> None:
    """Call `person` `name` for the next e-mail: stored when it fits the column (120 characters, as the
    forms allow), else only rendered (a message may carry longer strings, a whole token, from elsewhere).
    The caller holds `person`: the session keeps an unchanged object only while it is used."""
    if len(name) <= 120:
        person.name = name
    else:
        sa.orm.attributes.set_committed_value(person, "name", name)


def applicant_named(app, name: str) -> Browser:
    """An applicant called `name` with a ready application, its three referees nominated and asked
    through the portal's pages; a reviewer exists."""
    with app.app_context():
        user = make_user(email="applicant@example.org", name=name)
        application = make_application(user, category=2)
        record_eligibility(application)
        declare_current_membership(application)
        make_user(email="rev@example.org", role=Role.REVIEWER)
        application_id = application.id
    applicant = Browser(app.test_client())
    applicant.login("applicant@example.org")
    nominate_three(applicant, application_id)
    send_requests(applicant, application_id)
    return applicant


def request_to(app, address: str) -> tuple[int, str]:
    """The referee request sent to `address`: its outbox id and the referee's current token."""
    with app.app_context():
        row = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.to_address == address, OutboxEmail.template == "reference_request")
        ).one()
        reference = db.session.scalars(sa.select(Reference).where(Reference.email == address)).one()
        token = link_token(reference)
        assert token in row.body_text and token in row.body_html
        return row.id, token


def test_a_name_carrying_a_prefix_of_the_referee_token_does_not_uncover_the_real_token(make_app):
    """The applicant's name holds a portal link whose "token" is the prefix every referee token starts
    with; a reviewer reading the referee's request sees nothing of the real token."""
    app = make_app()
    applicant_named(app, f"Mal {BASE}/r/eyJyaWQiO")
    email_id, token = request_to(app, "sam@example.net")
    assert token.startswith("eyJyaWQiO")
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")

    page = reviewer.get(f"/staff/mail/{email_id}")
    part = reviewer.get(f"/staff/mail/{email_id}/html")
    assert page.status_code == part.status_code == 200
    shown, shown_html = page.get_data(as_text=True), part.get_data(as_text=True)
    # Nothing of the token past the prefix the name holds: neither its payload (the reference and
    # its nonce) nor its signature. (Its timestamp is no secret: the page's CSRF token may share it.)
    payload, _, _ = token.split(".")
    for secret in (payload[len("eyJyaWQiO") :], signature(token)):
        assert not leaked(secret, shown, shown_html, as_decoded(shown_html))
    # The real links are still shown, their token hidden; so is the name, its fake link hidden too.
    for suffix in ("", "/decline", "/my-requests"):
        assert f"{BASE}/r/[hidden]{suffix}\n" in html_module.unescape(shown)
    assert f"Mal {BASE}/r/[hidden] asks you for a professional reference." in html_module.unescape(shown)
    assert f"Mal {BASE}/r/[hidden] asks you for a professional reference." in html_module.unescape(shown_html)


def percent_encoded(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


class Markup(HTMLParser):
    """The start tags of a document and their attribute names."""

    def __init__(self, document: str):
        super().__init__()
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))


def test_links_in_names_in_every_form_are_shown_with_their_secrets_hidden_and_the_rest_as_written(make_app):
    """Names carrying full, partial, encoded, split, relative or other-case links, pieces of the real
    token, genuine tokens of other purposes (one signed with a fallback key), and markup: the console's
    list, message and HTML part show the name with every secret [hidden] and nothing of any token."""
    app = make_app(SECRET_KEY_FALLBACKS=["an-older-key-being-rotated-out"])
    applicant_named(app, "Avery Applicant")
    _, token = request_to(app, "sam@example.net")
    sig = signature(token)
    with app.app_context():
        other = make_token("password-reset", {"uid": 1, "pw": "0123456789abcdef01234567"})
    older = URLSafeTimedSerializer(
        "an-older-key-being-rotated-out", salt="email-verify", signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps({"uid": 1, "email": "applicant@example.org", "act": "email-verify"})
    cases = [
        (f"Mal {BASE}/r/{token}", f"Mal {BASE}/r/[hidden]"),
        (f"Mal {BASE}/r/{token[:12]}", f"Mal {BASE}/r/[hidden]"),
        (f"Mal {BASE}/r/{token[:40]}/decline/extra", f"Mal {BASE}/r/[hidden]"),
        (f"Mal {BASE}/r/{token}/decline", f"Mal {BASE}/r/[hidden]/decline"),
        (f"Mal {sig[-20:]} Jones", "Mal [hidden] Jones"),
        (f"Mal x{sig[3:12]}y Jones", "Mal [hidden] Jones"),
        (f"Mal {BASE}/password/reset/{other}", f"Mal {BASE}/password/reset/[hidden]"),
        (f"Mal {other} Jones", "Mal [hidden] Jones"),
        (f"Mal {older} Jones", "Mal [hidden] Jones"),
        (f'Mal <a href="{BASE}/r/{token}">x</a>', f'Mal <a href="{BASE}/r/[hidden]">x</a>'),
        ('Mal "><script>alert(1)</script><b>', 'Mal "><script>alert(1)</script><b>'),
        (f"Mal &#104;ttps://portal.example.test/r/{token}", "Mal &#104;ttps://portal.example.test/r/[hidden]"),
        (f"Mal {BASE}/r/{percent_encoded(token)}", f"Mal {BASE}/r/[hidden]"),
        (f"Mal {BASE}/r/%65yJ{token[3:]}", f"Mal {BASE}/r/[hidden]"),
        (f"Mal {BASE}/r/{token[:25]}\n{token[25:]}", f"Mal {BASE}/r/[hidden]\n[hidden]"),
        (f"Mal HTTPS://Portal.Example.Test/R/{token}", "Mal HTTPS://Portal.Example.Test/R/[hidden]"),
        (f"Mal portal.example.test/r/{token}", "Mal portal.example.test/r/[hidden]"),
        (f"Mal (/r/{token}/my-requests)", "Mal (/r/[hidden]/my-requests)"),
        (f"Mal {BASE}/x/../r/{token}", f"Mal {BASE}/[hidden]"),
        (f"Mal {BASE}/r/requests/{token}", f"Mal {BASE}/r/requests/[hidden]"),
        (f"Mal {BASE}/welcome/{other}?next=1", f"Mal {BASE}/welcome/[hidden]?next=1"),
        (f"Mal {BASE}/applications/1?token={token}&page=2", f"Mal {BASE}/applications/1?token=[hidden]&page=2"),
    ]
    secrets = [(token, sig), (other, signature(other)), (older, signature(older))]
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    for name, expected in cases:
        with app.app_context():
            applicant = db.session.scalars(sa.select(User).where(User.email == "applicant@example.org")).one()
            as_if_named(applicant, name)
            reference = db.session.scalars(sa.select(Reference).where(Reference.email == "sam@example.net")).one()
            send_link(reference, "reference_reminder")  # the real reminder, with the real link
            db.session.commit()
            email = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(1)).one()
            email_id, original_html = email.id, email.body_html
            assert token in email.body_text and name in email.body_text

        listing = reviewer.get("/staff/mail/").get_data(as_text=True)
        page = reviewer.get(f"/staff/mail/{email_id}").get_data(as_text=True)
        part = reviewer.get(f"/staff/mail/{email_id}/html").get_data(as_text=True)
        for whole, secret in secrets:
            shown = (listing, page, part, as_decoded(part), as_decoded(page))
            assert not leaked(secret, *shown), (name, leaked(secret, *shown))
            assert whole not in unquote(html_module.unescape(page + part)), name
        assert f"A reminder: {expected} is still waiting for your reference." in html_module.unescape(page), name
        assert f"A reminder: {expected} is still waiting for your reference." in html_module.unescape(part), name
        assert f"{BASE}/r/[hidden]/decline\n" in html_module.unescape(page)
        # The HTML part has the template's elements and no others, and no link or handler.
        shown_tags = Markup(part).tags
        assert [tag for tag, _ in shown_tags] == [tag for tag, _ in Markup(original_html).tags], name
        assert not any(a == "href" or a.startswith("on") for _, attributes in shown_tags for a in attributes)


def test_a_bounce_quoting_the_referee_link_shows_its_token_to_no_staff_member(make_app, smtp_server):
    """A delivery report whose diagnostic quotes the request's link (as content filters do): the mail
    console's list and message page, and the application file's audit trail, show it [hidden]."""
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT_SECONDS=5,
        MAIL_DEFAULT_SENDER=PORTAL_FROM,
        BOUNCE_ADDRESS=BOUNCE_BASE,
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    applicant_named(app, "Avery Applicant")
    with app.app_context():
        assert deliver_due().sent == 3
    email_id, token = request_to(app, "rae@example.net")
    quoted = f"550 5.7.1 Message content rejected: URL {BASE}/r/{token}/decline is listed"
    raw = report_about(app, "postfix_permanent", recipient="rae@example.net").decode()
    raw = re.sub(r"Diagnostic-Code: smtp; 550 5\.1\.1 .*?table", f"Diagnostic-Code: smtp; {quoted}", raw, flags=re.S)
    assert post_report(app, raw.encode()).status_code == 202
    with app.app_context():
        email = db.session.get(OutboxEmail, email_id)
        assert email.bounced_at is not None and token in email.bounce_reason  # kept whole, for the record
        application_id = db.session.get(Reference, email.related_id).application_id
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    shown_reason = f"Message content rejected: URL {BASE}/r/[hidden]/decline is listed"
    for url in ("/staff/mail/", f"/staff/mail/{email_id}", f"/review/applications/{application_id}"):
        page = reviewer.get(url)
        assert page.status_code == 200, url
        shown = html_module.unescape(page.get_data(as_text=True))
        assert shown_reason in shown, url
        assert not leaked(signature(token), shown), url


def test_every_token_route_is_known_to_the_redaction(app_ctx):
    """Each route classified as reached by a token (or a referee's link) has a secret segment the
    console hides, and a fixed start after which an unmatched path is hidden."""
    from refportal.security.redaction import TokenRoutes

    routes = TokenRoutes.of(app_ctx.url_map.iter_rules())
    for rule in app_ctx.url_map.iter_rules():
        if ACCESS.get(rule.endpoint) in ("token", "referee"):
            assert routes.secret_segments.get(rule.rule), rule.rule
    assert {("r",), ("r", "requests"), ("verify-email",), ("password", "reset"), ("welcome",)} <= set(routes.prefixes)


def test_the_resend_check_still_finds_the_referee_link_among_fakes(make_app):
    """link_tokens() lists the links with their endpoint and token: the real ones whatever the name
    holds (the fakes are listed too, which is harmless: the check asks whether the current token is
    among them)."""
    app = make_app()
    applicant_named(app, f"Mal {BASE}/r/eyJyaWQiO https://elsewhere.example/r/abc")
    email_id, token = request_to(app, "sam@example.net")
    with app.app_context():
        found = console.link_tokens(db.session.get(OutboxEmail, email_id).body_text)
    assert {(url, endpoint, t) for url, endpoint, t in found} == {
        (f"{BASE}/r/eyJyaWQiO", "referee.rating_form", "eyJyaWQiO"),
        ("https://elsewhere.example/r/abc", "referee.rating_form", "abc"),
        (f"{BASE}/r/{token}", "referee.rating_form", token),
        (f"{BASE}/r/{token}/decline", "referee.decline", token),
        (f"{BASE}/r/{token}/my-requests", "referee.ask_for_my_requests", token),
    }


# ------------------------------------------------------------------------------------------------
# The property: whatever the names say, no usable piece of any real token is shown.

PROPERTY_EXAMPLES = 150
# Each template carrying a token, the service that queues it, and a sentence of its own that must stay.
SERVICES = {
    "reference_reminder": (lambda user, ref: send_link(ref, "reference_reminder"), "The rating form asks you to rate"),
    "password_reset": (lambda user, ref: request_password_reset(email=user.email), "asked to reset the password of"),
    "verify_email": (lambda user, ref: send_verification_email(user=user), "Please confirm your e-mail address"),
    "referee_requests_link": (
        lambda user, ref: send_requests_page_link(reference=ref),
        "Here is the link to every reference request sent to this address.",
    ),
}
PIECES = [
    BASE, f"{BASE}/r/", "/r/", "/r/requests/", "/password/reset/", "/verify-email/", "/welcome/", "/decline",
    "/my-requests", "HTTPS://PORTAL.EXAMPLE.TEST/R/", "portal.example.test/r/", "//portal.example.test/r/", "eyJyaWQiO",
    "eyJ", ".", "?token=", "&", "#", "%", "%2F", "%65", "/../", "<", ">", '"', "'", '<a href="', '">', "<script>",
    "</p>", "&amp;", "&#", "&#x", ";", "\n", "\n  ", "=\n", "\r\n> ", " ", "\t", "[hidden]", "(", ")", "\u00a0",
    "\uff45", "\u200b",
]  # fmt: skip
PLAIN = [" ", ' <b>O\'Neil & "Co"</b> ', ' "><img src=x onerror=alert(1)> ', " &lt;i&gt; "]


def real_tokens(text: str) -> set[str]:
    """The tokens of `text` that the portal accepts for some purpose (its own check, not the console's)."""
    found = set()
    for run in re.findall(r"[A-Za-z0-9_.-]{40,}", text):
        for purpose in PURPOSES:
            try:
                load_token(purpose, run, max_age=10**9)
                found.add(run)
            except (TokenInvalid, TokenExpired):
                continue
    return found


def encoded(token: str, start: int, length: int, how: str) -> str:
    piece = token[start : start + length]
    if how == "percent":
        return percent_encoded(piece)
    if how == "entity":
        return "".join(f"&#{ord(c)};" for c in piece)
    if how == "half":
        return percent_encoded(piece[: len(piece) // 2]) + piece[len(piece) // 2 :]
    if how == "quoted":
        return quote(piece, safe="")
    return piece


def test_no_piece_of_a_real_token_is_shown_whatever_the_names_say(make_app, monkeypatch):
    """Names of the applicant and the referee mixing pieces of the real tokens (raw, percent- or
    entity-encoded), the portal's base and token paths, markup, white space and any Unicode, rendered
    into each real e-mail that carries a token: no 8 consecutive characters of any real token's
    signature are shown (text, subject, HTML, HTML unescaped and unquoted), and the message's own
    text and the names' plain words still are (escaped in the HTML)."""
    app = make_app(EMAILS_PER_ADDRESS_PER_HOUR=1000)
    applicant_named(app, "Avery Applicant")
    # Tokens signed now are the same in every example, so the names can carry pieces of them.
    stamp = int(TimestampSigner("k").get_timestamp())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)

    def queued(template: str, applicant_name: str = "Avery", referee_name: str = "Sam") -> OutboxEmail:
        user = db.session.scalars(sa.select(User).where(User.email == "applicant@example.org")).one()
        reference = db.session.scalars(sa.select(Reference).where(Reference.email == "sam@example.net")).one()
        as_if_named(user, applicant_name)
        as_if_named(reference, referee_name)
        access = db.session.get(RefereePageAccess, reference.email)
        if access is not None:  # each example's page link is the first one again: the same token
            access.version, access.last_sent_at = 0, None
        SERVICES[template][0](user, reference)
        db.session.flush()
        return db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(1)).one()

    tokens = set()
    with app.app_context():
        for template in SERVICES:
            found = real_tokens(queued(template).body_text)
            assert len(found) == 1, template
            tokens |= found
            db.session.rollback()
        sam = db.session.scalars(sa.select(Reference).where(Reference.email == "sam@example.net")).one()
        referee_token = link_token(sam)
    assert referee_token in tokens and len(tokens) == 4  # the referee's, a reset's, a verification's, a page's

    fragment = st.one_of(
        st.sampled_from(PIECES),
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
        st.builds(
            encoded,
            st.sampled_from(sorted(tokens)),
            st.integers(0, 160),
            st.integers(1, 160),
            st.sampled_from(["raw", "raw", "percent", "entity", "half", "quoted"]),
        ),
    )
    free_text = st.lists(fragment, max_size=10).map("".join)
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    plain = st.tuples(st.from_regex(r"[A-Z][a-z]{3,9}", fullmatch=True), st.sampled_from(PLAIN)).map("".join)

    @settings(
        max_examples=PROPERTY_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        template=st.sampled_from(sorted(SERVICES)),
        applicant=st.tuples(plain, free_text),
        referee=st.tuples(plain, free_text),
    )
    def check(template, applicant, referee):
        with app.app_context():
            email = queued(template, "".join(applicant), "".join(referee))
            db.session.commit()
            email_id, real, original_html = email.id, real_tokens(email.body_text), email.body_html
        assert real
        page = reviewer.get(f"/staff/mail/{email_id}").get_data(as_text=True)
        shown_html = reviewer.get(f"/staff/mail/{email_id}/html").get_data(as_text=True)
        text = html_module.unescape(re.search(r'<pre class="mail-body">(.*?)</pre>', page, re.S).group(1))
        subject = html_module.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))
        for token in real:
            found = leaked(signature(token), page, text, shown_html, as_decoded(shown_html))
            assert not found, (template, token, found)
        sentence = SERVICES[template][1]
        assert sentence in text and sentence in html_module.unescape(shown_html)
        names = {"reference_reminder": (applicant, referee), "referee_requests_link": (referee,)}
        for person_plain, _ in names.get(template, (applicant,)):
            assert person_plain.strip() in text
            assert html_module.escape(person_plain.strip()) in shown_html
        if template == "reference_reminder":
            assert applicant[0].strip() in subject
        shown_tags = Markup(shown_html).tags
        assert [tag for tag, _ in shown_tags] == [tag for tag, _ in Markup(original_html).tags]
        assert not any(a == "href" or a.startswith("on") for _, attributes in shown_tags for a in attributes)

    check()
