"""The portal as docs/deployment.md's "Deploying" section installs it: the wheel in a fresh virtual environment
outside the checkout, migrated on PostgreSQL, gunicorn (2 workers, deploy/gunicorn.conf.py) behind
Debian's nginx (deploy/nginx/refportal.conf) with TLS on loopback and its cache of the public registry,
Redis for the rate limits, the worker, and a real SMTP server. Everything is checked through https://."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.deploy.stack import (
    DEPLOY,
    HTTPSClient,
    Processes,
    build_and_install,
    free_port,
    free_ports,
    http_get,
    installed_static,
    nginx_site,
    run,
    self_signed_certificate,
    start_nginx,
    wait_for_port,
    which,
)
from tests.payments.stripe_standin import event, sign
from tests.smtp import SMTPServer
from tests.support import postgres_url, require

DATABASE = f"refportal_deploy_test_{os.getpid()}"  # its own: two checkouts may run it at once
PASSWORD = "deploy pass phrase 2026"
STRIPE_WEBHOOK_SECRET = "whsec_deployment"
# Short, so that a change in the registry shows through nginx's cache within the test.
REGISTRY_CACHE_SECONDS = 3
REGISTRY_RATE_LIMIT = 20  # per minute and client address

# Two endorsees in the public registry (listed by default), each signing in with PASSWORD.
SEED_ENDORSEES = """
from datetime import timedelta
from refportal import create_app
from refportal.accounts.models import Role
from refportal.accounts.services import create_user
from refportal.applications.categories import Credential
from refportal.db import utc_today
from refportal.endorsements.models import Endorsement
from refportal.extensions import db

app = create_app()
with app.test_request_context():
    today = utc_today()
    for email, name, number in (("elena.deploy@example.org", "Elena Cached", "IMH-7K3QX9P2"),
                                ("lior.deploy@example.org", "Lior Listed", "IMH-4M8RT2WZ")):
        holder = create_user(email=email, name=name, role=Role.APPLICANT, password="deploy pass phrase 2026")
        db.session.add(Endorsement(number=number, holder_id=holder.id, credential=Credential.IMH_E, category=2,
                                   issued_on=today - timedelta(days=10), period_starts_on=today - timedelta(days=10),
                                   period_ends_on=today + timedelta(days=300)))
    db.session.commit()
"""
CACHED_NUMBER, LISTED_NUMBER = "IMH-7K3QX9P2", "IMH-4M8RT2WZ"

SEED_SPANISH_REQUEST = """
from refportal import create_app
from refportal.accounts.models import Role
from refportal.accounts.services import create_user
from refportal.applications.categories import Credential
from refportal.applications.services import open_application
from refportal.extensions import db
from refportal.references.links import link_token
from refportal.references.nomination import nominate_referee, send_requests
from refportal.references.roles import RefereeRole
from decimal import Decimal

app = create_app()
with app.test_request_context():
    ana = create_user(email="ana.deploy@example.org", name="Ana Deploy", role=Role.APPLICANT,
                      password="deploy pass phrase 2026")
    application = open_application(applicant=ana, credential=Credential.IMH_E, category=2, mentor_track=None)
    referees = [("Sara Supervisora", "sara@example.net", RefereeRole.SUPERVISOR, "es"),
                ("Rae Provider", "rae@example.net", RefereeRole.RSC_PROVIDER, "en"),
                ("Cole League", "cole@example.net", RefereeRole.COLLEAGUE, "en")]
    made = [nominate_referee(application=application, actor=ana, name=name, email=email, organisation="Org",
                             role=role, setting="Home visiting", known_years=Decimal(2), endorsed_credential=None,
                             endorsed_category=None, waived=True, language=language)
            for name, email, role, language in referees]
    # The application fee the requests wait for, recorded as staff record a cheque (its receipt e-mailed).
    from datetime import date
    from refportal.applications.fees import application_account
    from refportal.payments.models import PaymentMethod
    from refportal.payments.services import record_payment
    record_payment(account=application_account(application), method=PaymentMethod.CHEQUE, amount_cents=2500,
                   received_on=date.today(), reference="Cheque 1")
    send_requests(application=application, actor=ana)
    db.session.commit()
    print(link_token(made[0]))
"""


@pytest.fixture(scope="module")
def components():
    for program in ("nginx", "redis-server", "openssl"):
        if which(program) is None:
            require(program, f"Debian's {program} is not installed (make test installs nginx and redis-server as root)")
    server_url = postgres_url()
    if server_url is None:
        require("PostgreSQL", "the deployment runs on PostgreSQL (set TEST_DATABASE_URL)")
    return server_url


@pytest.fixture(scope="module")
def database(components):
    """A database of its own on the test server, dropped afterwards."""
    admin = sa.create_engine(components, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    except sa.exc.OperationalError as exc:
        require("PostgreSQL", str(exc).splitlines()[0])
    yield sa.engine.make_url(components).set(database=DATABASE).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="module")
def deployment(database):
    """The whole stack, up; yields its addresses, settings and figures."""
    folder = Path(tempfile.mkdtemp(prefix="refportal-deploy-"))  # outside the checkout
    processes = Processes(folder)
    smtp = SMTPServer().start()
    figures: dict[str, float] = {}
    try:
        started = time.monotonic()
        venv = build_and_install(folder)
        figures["wheel build and install (s)"] = round(time.monotonic() - started, 1)
        run_folder = folder / "run"
        run_folder.mkdir()
        redis_port, gunicorn_port, https_port, http_port = free_ports(4)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/root"),
            "REFPORTAL_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database,
            "PORTAL_BASE_URL": f"https://127.0.0.1:{https_port}",
            "PROXY_COUNT": "1",
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "MAIL_TIMEOUT_SECONDS": "5",
            "MAIL_DEFAULT_SENDER": "refportal <no-reply@refs.example.test>",
            "WORKER_POLL_SECONDS": "1",
            "GUNICORN_WORKERS": "2",
            "API_RATE_LIMIT": "12 per minute",
            "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
            "REGISTRY_CACHE_SECONDS": str(REGISTRY_CACHE_SECONDS),
            "REGISTRY_RATE_LIMIT": f"{REGISTRY_RATE_LIMIT} per minute",
            # Online payment on (nothing here calls Stripe's API; its webhooks come in through nginx).
            "STRIPE_SECRET_KEY": "sk_test_deployment",
            "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            "STRIPE_API_BASE": "http://127.0.0.1:9",
        }
        flask = [str(venv / "bin" / "flask"), "--app", "refportal"]
        run([*flask, "db", "upgrade"], cwd=run_folder, env=env)
        run(
            [
                *flask,
                "create-user",
                "--email",
                "staff@example.org",
                "--name",
                "Staff Member",
                "--role",
                "reviewer",
                "--password",
                PASSWORD,
            ],
            cwd=run_folder,
            env=env,
        )
        run(
            [*flask, "create-user", "--email", "admin@example.org", "--name", "Admin", "--role", "admin"]
            + ["--password", PASSWORD],
            cwd=run_folder,
            env=env,
        )
        spanish_token = (
            run([str(venv / "bin" / "python"), "-c", SEED_SPANISH_REQUEST], cwd=run_folder, env=env)
            .stdout.strip()
            .splitlines()[-1]
        )
        run([str(venv / "bin" / "python"), "-c", SEED_ENDORSEES], cwd=run_folder, env=env)

        # The static files, where docs/deployment.md's steps put them for nginx.
        static = folder / "static"
        shutil.copytree(installed_static(venv), static)
        cert, key = self_signed_certificate(folder)

        redis = processes.start(
            "redis",
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        wait_for_port(redis_port, redis)
        gunicorn = processes.start(
            "gunicorn",
            [str(venv / "bin" / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), "refportal:create_app()"],
            cwd=run_folder,
            env=env,
        )
        processes.start("worker", [*flask, "worker"], cwd=run_folder, env=env)
        start_nginx(
            processes,
            folder,
            nginx_site(
                https_port=https_port,
                http_port=http_port,
                cert=cert,
                key=key,
                upstream_port=gunicorn_port,
                static=static,
                cache=folder / "nginx-cache",
            ),
        )
        wait_for_port(gunicorn_port, gunicorn)
        wait_for_port(https_port)
        ready_started = time.monotonic()
        while HTTPSClient(https_port, "127.0.0.1", cert).get("/readyz").status != 200:
            assert time.monotonic() - ready_started < 30, "never ready"
            time.sleep(0.2)
        figures["first 200 from /readyz after the ports opened (s)"] = round(time.monotonic() - ready_started, 2)
        yield {
            "https_port": https_port,
            "http_port": http_port,
            "cert": cert,
            "smtp": smtp,
            "env": env,
            "venv": venv,
            "run_folder": run_folder,
            "static": static,
            "spanish_token": spanish_token,
            "figures": figures,
            "processes": processes,
        }
    except BaseException:
        print(processes.logs())
        raise
    finally:
        processes.stop_all()
        smtp.stop()
        print("deployment figures:", figures)
        shutil.rmtree(folder, ignore_errors=True)


def client(deployment, source: str = "127.0.0.1") -> HTTPSClient:
    return HTTPSClient(deployment["https_port"], source, deployment["cert"])


def test_https_gives_hsts_and_secure_cookies(deployment):
    response = client(deployment).get("/login")
    assert response.status == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    session_cookie = next(c for c in response.headers.get_all("Set-Cookie") if c.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])  # nginx's $request_id, kept


def test_plain_http_is_sent_to_https(deployment):
    response = http_get(f"http://127.0.0.1:{deployment['http_port']}/login")
    assert response.status == 301 and response.headers["Location"].startswith("https://")


def test_login_limits_key_on_the_real_client_and_are_shared_by_both_workers(deployment):
    def attempts(numbers) -> list[int]:
        attacker = client(deployment, "127.0.0.2")  # its own session, same address
        return [
            attacker.post_form("/login", {"email": f"guess{n}@example.org", "password": "wrong password"}).status
            for n in numbers
        ]

    # Two browsers at once, so both gunicorn workers answer: 30 attempts between them, then the 31st.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(attempts, (range(0, 15), range(15, 30)))
    assert first + second == [200] * 30
    last = attempts([30])
    assert last == [429]
    deployment["figures"]["login attempts from 127.0.0.2 before the 429"] = len(first + second)
    workers = {
        line["pid"]
        for line in request_log(deployment)
        if line.get("remote_addr") == "127.0.0.2" and line.get("path") == "/login" and line.get("method") == "POST"
    }
    assert len(workers) == 2, f"the attempts reached {len(workers)} worker(s)"
    someone_else = client(deployment, "127.0.0.3")
    login = someone_else.post_form("/login", {"email": "staff@example.org", "password": PASSWORD})
    assert login.status == 302 and login.headers["Location"].endswith("/dashboard")


def request_log(deployment) -> list[dict]:
    """The JSON request lines gunicorn's workers wrote (the portal logs to stderr in production)."""
    log = deployment["processes"].folder / "gunicorn.log"
    lines = []
    for text in log.read_text().splitlines():
        if text.startswith("{"):
            entry = json.loads(text)
            if entry.get("logger") == "refportal.request":
                lines.append(entry)
    return lines


def test_a_spanish_referee_page_is_spanish(deployment):
    page = client(deployment).get(f"/r/{deployment['spanish_token']}")
    assert page.status == 200
    assert '<html lang="es">' in page.text and "Valoración de referencia para Ana Deploy" in page.text
    scale = client(deployment).get(f"/r/{deployment['spanish_token']}/step/2")  # a step with the scale
    assert scale.status == 200 and "No hay suficiente información para valorar" in scale.text


def test_a_verification_email_reaches_the_smtp_server_through_the_worker(deployment):
    address = "new.applicant@example.org"
    registered = client(deployment, "127.0.0.4").post_form(
        "/register", {"name": "New Applicant", "email": address, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert registered.status == 200 and "Check your e-mail" in registered.text
    smtp = deployment["smtp"]
    deadline = time.monotonic() + 30
    while not any(d.rcpt_tos == [address] for d in smtp.delivered):
        assert time.monotonic() < deadline, "the worker did not deliver the verification e-mail"
        time.sleep(0.2)
    message = next(d.message for d in smtp.delivered if d.rcpt_tos == [address])
    assert f"https://127.0.0.1:{deployment['https_port']}/verify-email/" in message.get_body(("plain",)).get_content()


def test_an_api_key_made_in_the_admin_pages_reads_the_api_through_nginx_limited_across_workers(deployment):
    admin = client(deployment, "127.0.0.5")
    assert admin.post_form("/login", {"email": "admin@example.org", "password": PASSWORD}).status == 302
    created = admin.post_form(
        "/admin/api/keys", {"name": "CRM", "scopes": "read:applications"}, form_page="/admin/api/"
    )
    assert created.status == 200, created.text[:500]
    key = re.search(r"(rp_[A-Za-z0-9_-]{40,})", created.text).group(1)
    machine = client(deployment, "127.0.0.6")
    spec = machine.get("/api/v1/openapi.json")
    assert spec.status == 200 and json.loads(spec.text)["servers"] == [
        {"url": f"https://127.0.0.1:{deployment['https_port']}"}
    ]

    def calls(count: int) -> list[int]:
        caller = client(deployment, "127.0.0.6")
        return [
            caller.get("/api/v1/applications", headers={"Authorization": f"Bearer {key}"}).status for _ in range(count)
        ]

    with ThreadPoolExecutor(2) as pool:  # both gunicorn workers answer, counting in Redis
        first, second = pool.map(calls, (6, 6))
    assert first + second == [200] * 12
    refused = client(deployment, "127.0.0.6").get("/api/v1/applications", headers={"Authorization": f"Bearer {key}"})
    assert refused.status == 429 and refused.headers["Content-Type"] == "application/problem+json"
    wrong = client(deployment, "127.0.0.7").get("/api/v1/applications", headers={"Authorization": f"Bearer {key}x"})
    page = json.loads(wrong.text)
    assert page["status"] == 401
    workers = {line["pid"] for line in request_log(deployment) if line.get("path") == "/api/v1/applications"}
    assert len(workers) == 2, f"the API calls reached {len(workers)} worker(s)"


def test_stripe_webhooks_through_nginx_are_checked_and_each_event_handled_once_across_workers(deployment):
    """A signed event reaches the portal through nginx with its body intact (the signature covers every
    byte); a forged one is 400; the same event delivered four times at once to both workers is handled
    once (the event id in PostgreSQL) and acknowledged every time."""
    payload = event("checkout.session.expired", {"id": "cs_test_deployment"}, event_id="evt_deployment_1")
    headers = {"Content-Type": "application/json"}
    forged = client(deployment).request(
        "POST", "/payments/stripe/webhook", body=payload, headers={**headers, "Stripe-Signature": sign(payload, "x")}
    )
    assert forged.status == 400 and "signature" in forged.text

    def deliver() -> tuple[int, str]:
        signed = {**headers, "Stripe-Signature": sign(payload, STRIPE_WEBHOOK_SECRET)}
        answer = client(deployment).request("POST", "/payments/stripe/webhook", body=payload, headers=signed)
        return answer.status, json.loads(answer.text)["outcome"]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: deliver(), range(4)))
    assert [status for status, _ in answers] == [200] * 4, answers
    outcomes = sorted(outcome for _, outcome in answers)
    assert outcomes == ["already handled"] * 3 + ["unknown session"], answers


def test_static_files_come_from_nginx(deployment):
    response = client(deployment).get("/static/portal.css")
    assert response.status == 200 and response.headers["Server"].startswith("nginx")
    assert "X-Request-ID" not in response.headers  # the app never saw it
    assert response.text == (deployment["static"] / "portal.css").read_text()


def test_a_page_that_takes_a_document_gets_a_larger_body_through_nginx_and_the_others_keep_1_mb(deployment):
    """2 MB reach the portal on the pages that take a document (the paper rating, the applicant's documents,
    staff's upload for the applicant: it answers, no CSRF token here), while nginx itself refuses them
    (413) anywhere else."""
    body = {"signed_form": "x" * (2 * 1024 * 1024)}
    for page in (
        "/review/applications/1/references/1/paper",
        "/applications/1/documents",
        "/review/applications/1/documents",
    ):
        upload = client(deployment).request("POST", page, form=body)
        assert upload.status == 400 and "X-Request-ID" in upload.headers, page  # the portal's answer
    elsewhere = client(deployment).request("POST", "/login", form=body)
    assert elsewhere.status == 413 and "X-Request-ID" not in elsewhere.headers  # nginx's


def test_readyz_is_200_and_503_for_the_same_install_without_its_database(deployment):
    ready = client(deployment).get("/readyz")
    assert ready.status == 200 and '"status":"ready"' in ready.text.replace(" ", "")
    port = free_port()
    env = {
        **deployment["env"],
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
    }
    processes: Processes = deployment["processes"]
    cut_off = processes.start(
        "gunicorn-no-database",
        [
            str(deployment["venv"] / "bin" / "gunicorn"),
            "-c",
            str(DEPLOY / "gunicorn.conf.py"),
            "refportal:create_app()",
        ],
        cwd=deployment["run_folder"],
        env=env,
    )
    wait_for_port(port, cut_off)
    response = http_get(f"http://127.0.0.1:{port}/readyz")
    assert response.status == 503 and '"database":"unreachable' in response.text.replace(" ", "")
    assert http_get(f"http://127.0.0.1:{port}/healthz").status == 200


def portal_answers(deployment, path: str, address: str) -> list[int]:
    """The statuses the portal itself gave to `address` for `path` (without its query; what nginx answered
    from its cache is not there)."""
    return [
        line["status"]
        for line in request_log(deployment)
        if line.get("path") == path and line.get("remote_addr") == address
    ]


def wait_for_log(deployment, path: str, address: str, count: int) -> list[int]:
    """The portal's answers once it logged `count` of them (a worker writes its line just after the answer)."""
    deadline = time.monotonic() + 5
    while len(answers := portal_answers(deployment, path, address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return answers


def test_a_registry_page_asked_twice_is_served_the_second_time_by_nginx(deployment):
    path = f"/registry/{CACHED_NUMBER}"
    first, second = (client(deployment, "127.0.0.8").get(path) for _ in range(2))
    assert first.status == second.status == 200 and "Elena Cached" in first.text
    assert first.headers["X-Cache-Status"] == "MISS" and second.headers["X-Cache-Status"] == "HIT"
    assert second.text == first.text and second.headers["ETag"] == first.headers["ETag"]
    assert first.headers["Cache-Control"] == f"public, max-age={REGISTRY_CACHE_SECONDS}"
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in second.headers
    # Each answer carries its own request id (the kept copy's is not repeated).
    ids = [response.headers["X-Request-ID"] for response in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    assert wait_for_log(deployment, path, "127.0.0.8", 1) == [200]  # the portal answered once

    search = "/registry/?name=elena"
    found = [client(deployment, "127.0.0.8").get(search) for _ in range(2)]
    assert [r.headers["X-Cache-Status"] for r in found] == ["MISS", "HIT"]
    assert "Elena Cached" in found[1].text


def test_a_conditional_request_is_answered_304_by_nginx_and_nginx_revalidates_with_the_portal(deployment):
    path = "/registry/?name=cached"  # logged as /registry/
    visitor = client(deployment, "127.0.0.9")
    page = visitor.get(path)
    assert page.status == 200 and page.headers["X-Cache-Status"] == "MISS"
    etag, last_modified = page.headers["ETag"], page.headers["Last-Modified"]
    repeat = visitor.get(path, headers={"If-None-Match": etag})
    assert repeat.status == 304 and repeat.text == "" and repeat.headers["X-Cache-Status"] == "HIT"
    assert visitor.get(path, headers={"If-Modified-Since": last_modified}).status == 304
    assert wait_for_log(deployment, "/registry/", "127.0.0.9", 1) == [200]  # both 304s came from nginx's copy
    # Past max-age nothing changed: nginx asks the portal with the copy's validators and renews it on its 304.
    time.sleep(REGISTRY_CACHE_SECONDS + 1)
    renewed = visitor.get(path)
    assert renewed.status == 200 and renewed.headers["X-Cache-Status"] == "REVALIDATED"
    assert renewed.text == page.text and renewed.headers["ETag"] == etag
    assert wait_for_log(deployment, "/registry/", "127.0.0.9", 2) == [200, 304]
    assert visitor.get(path, headers={"If-None-Match": etag}).status == 304


def test_signed_in_pages_are_never_cached_and_a_signed_in_visitor_gets_the_public_page(deployment):
    endorsee = client(deployment, "127.0.0.10")
    assert endorsee.post_form("/login", {"email": "elena.deploy@example.org", "password": PASSWORD}).status == 302
    for path in ("/dashboard", "/endorsements/registry-listing", "/dashboard"):
        page = endorsee.get(path)
        assert page.status == 200 and "Elena Cached" in page.text, path
        assert "X-Cache-Status" not in page.headers and page.headers["Cache-Control"] == "no-store", path
    # The registry with a session cookie: the same public page (nothing in it is the visitor's), no cookie set.
    public = endorsee.get("/registry/?name=elena+cached")
    again = endorsee.get("/registry/?name=elena+cached")
    assert [public.headers["X-Cache-Status"], again.headers["X-Cache-Status"]] == ["MISS", "HIT"]
    assert "Log out" not in public.text and "Set-Cookie" not in public.headers
    assert endorsee.get("/dashboard").status == 200  # still signed in


def test_a_change_in_the_registry_shows_through_the_cache_after_max_age(deployment):
    path = f"/registry/{LISTED_NUMBER}"
    visitor = client(deployment, "127.0.0.11")
    before = visitor.get(path)
    assert before.status == 200 and "Lior Listed" in before.text
    endorsee = client(deployment, "127.0.0.12")
    assert endorsee.post_form("/login", {"email": "lior.deploy@example.org", "password": PASSWORD}).status == 302
    saved = endorsee.post_form("/endorsements/registry-listing", {"city": ""})  # "List me" unticked
    assert saved.status == 302
    changed_at = time.monotonic()
    kept = visitor.get(path)
    if time.monotonic() - changed_at < REGISTRY_CACHE_SECONDS - 0.5:  # within max-age: nginx's copy
        assert kept.headers["X-Cache-Status"] == "HIT" and "Lior Listed" in kept.text
    time.sleep(REGISTRY_CACHE_SECONDS + 1)
    after = visitor.get(path)
    assert after.status == 200 and after.headers["X-Cache-Status"] == "EXPIRED"
    assert "Lior Listed" not in after.text and "Valid today" in after.text  # valid, its holder no longer named
    assert after.headers["ETag"] != before.headers["ETag"]
    assert wait_for_log(deployment, path, "127.0.0.11", 2) == [200, 200]


def test_the_registry_limit_counts_each_address_behind_the_cache_and_no_refusal_is_kept(deployment):
    """Unknown numbers (404, never kept) reach the portal and count against the guesser's address; its
    refusal (429) is not kept for anyone else; a page nginx already holds is served to the guesser
    uncounted (deploy/nginx/refportal.conf, docs/deployment.md)."""
    guesser = client(deployment, "127.0.0.14")
    guesses = [guesser.get(f"/registry/IMH-{n:08d}") for n in range(REGISTRY_RATE_LIMIT + 1)]
    assert [g.status for g in guesses] == [404] * REGISTRY_RATE_LIMIT + [429]
    assert {g.headers["X-Cache-Status"] for g in guesses} == {"MISS"}
    assert guesser.get(f"/registry/IMH-{0:08d}").status == 429  # the 404 was not kept either
    last = f"/registry/IMH-{REGISTRY_RATE_LIMIT:08d}"
    assert client(deployment, "127.0.0.15").get(last).status == 404  # another address: its own count
    cached = f"/registry/{CACHED_NUMBER}"
    client(deployment, "127.0.0.13").get(cached)  # held by nginx for the next max-age (or renewed now)
    held = guesser.get(cached)
    assert held.status == 200 and held.headers["X-Cache-Status"] == "HIT"
