"""The staff mail console: every outbox message with its delivery, read by staff with its secrets
hidden; administrators resend and correct a bounced referee's address (an adapter over mail and
references)."""
