"""The best-query floor app: plain Flask like the same-page floor (bench/floor/app.py), serving only the
pages of bench/floor/best_pages.py. Served by gunicorn as `floor.best_app:create()` from bench/
(FLOOR_DATABASE_URL, FLOOR_SECRET_KEY)."""

from __future__ import annotations

from flask import Flask

from floor import best_pages
from floor.app import create as create_same_page_floor


def create(database_url: str | None = None, secret_key: str | None = None) -> Flask:
    return create_same_page_floor(database_url, secret_key, pages=best_pages.ALL)
