"""gunicorn settings for refportal (gunicorn -c deploy/gunicorn.conf.py 'refportal:create_app()').

Behind nginx (deploy/nginx/refportal.conf) on loopback; the portal itself trusts the proxy's
forwarding headers (PROXY_COUNT=1) and writes one JSON line per request, so gunicorn's own access
log stays off. Every value can be changed through the environment."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (a leak, if any, cannot grow for ever).
max_requests = 2000
max_requests_jitter = 200
accesslog = None
errorlog = "-"
loglevel = "info"
# The portal handles X-Forwarded-* itself (werkzeug's ProxyFix with PROXY_COUNT).
forwarded_allow_ips = "127.0.0.1"
