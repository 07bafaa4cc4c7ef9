"""Signed tokens, password hashing and response headers."""
