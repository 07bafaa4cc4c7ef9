"""The outbox: e-mail written in the caller's transaction, delivered by `flask mail send`."""
