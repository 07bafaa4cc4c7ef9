"""The development mail viewer: read queued messages and follow their links.

The blueprint is registered only when MAIL_VIEWER is on (development), so in production these
addresses do not exist.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template
from markupsafe import Markup, escape

from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.security.headers import mark_no_store

viewer_bp = Blueprint("mail_viewer", __name__, url_prefix="/dev/mail")

URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Escape plain text and make its web addresses clickable."""
    parts, last = [], 0
    for match in URL_PATTERN.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(match.group(0)))  # format() escapes
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@viewer_bp.get("/")
def inbox() -> Response:
    """All queued and sent messages, newest first."""
    messages = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(200)).all()
    return mark_no_store(current_app.make_response(render_template("mail/inbox.html", messages=messages)))


@viewer_bp.get("/<int:email_id>")
def message(email_id: int) -> Response:
    """One message: headers, the text part with clickable links, and the HTML part."""
    email = db.get_or_404(OutboxEmail, email_id)
    body = render_template("mail/message.html", email=email, text_body=linkify(email.body_text))
    return mark_no_store(current_app.make_response(body))


@viewer_bp.get("/<int:email_id>/html")
def message_html(email_id: int) -> Response:
    """The HTML part as the recipient's mail program would show it."""
    email = db.get_or_404(OutboxEmail, email_id)
    response = current_app.make_response(email.body_html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return mark_no_store(response)
