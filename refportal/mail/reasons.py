"""A mail server's reason for refusing or delaying a message, in words an applicant understands."""

from __future__ import annotations

import re

# (pattern on the SMTP reply or DSN status and text, plain words), first match wins.
PLAIN_WORDS = (
    (
        r"\b5\.1\.[0-3]\b|user unknown|no such user|does not exist|mailbox unavailable|recipient.*(rejected|unknown)",
        "the address does not exist at that mail server (a typing error, or the mailbox was closed)",
    ),
    (r"\b[45]\.2\.2\b|mailbox full|over quota|quota exceeded", "the referee's mailbox is full"),
    (
        r"\b5\.7\.\d+\b|spam|blocked|policy|not authori[sz]ed|relay",
        "the receiving mail server refused mail from the portal (employer mail filters often do this)",
    ),
    (
        r"\b4\.\d+\.\d+\b|delay|deferred|try again|temporar",
        "the receiving mail server has not accepted it yet and keeps trying",
    ),
)
ADVICE = "Ask the referee for a personal e-mail address: employer mail servers often block portal mail."


def plain_words(reason: str | None) -> str:
    """Why the message did not arrive, for the applicant (the server's own words are for staff)."""
    text = (reason or "").lower()
    for pattern, words in PLAIN_WORDS:
        if re.search(pattern, text):
            return words
    return "the receiving mail server refused it"
