"""The mail drain: refportal's sender against plain smtplib, the same bytes into the same aiosmtpd sink.

`measure(url, count, rounds)` queues `count` messages through refportal's queue_email() in the database
at `url` (an upgraded one whose outbox holds nothing but earlier drains: it is emptied before and after,
so every run starts from the same empty outbox, and vacuumed before each round), starts bench/sink.py in
its own process, and in `rounds` alternating rounds drains them with refportal's sender (deliver_due until
nothing is claimed) and then sends the very bytes the sender sent (each row's stored wire message, to
the same recipient, from the same envelope sender) with plain smtplib over one connection. Every round
of refportal's leaves every drain row marked sent, and the sink must have counted every message of both
sides. The medians of the rounds are compared: smtplib's time ÷ refportal's.

`measure_three(url)` runs that comparison three separate times (a fresh queue and sink each time) and
reports each run's ratio: the target (≥ 0.8×) is met when all three reach it.

    python bench/mail.py [count] [rounds]

builds its own upgraded database (`<BENCH_DATABASE_PREFIX>_mail`, `bench_mail_drain` without it, on the
server of BENCH_ADMIN_DATABASE_URL as in bench/run.py), measures three runs, prints them and drops it.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refportal import create_app  # noqa: E402
from refportal.extensions import db  # noqa: E402

TARGET = 0.8  # smtplib's time ÷ refportal's sender's, in every run
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "benchmark-secret-key-not-used-anywhere-else"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_for(url: str, **extra):
    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="refportal-bench-"),
            **extra,
        }
    )


def measure(url: str, count: int = 5000, rounds: int = 3) -> dict:
    """One comparison: `rounds` alternating rounds of `count` messages each way; the medians compared."""
    from refportal.mail.models import OutboxEmail, OutboxStatus
    from refportal.mail.sender import deliver_due
    from refportal.mail.services import queue_email
    from refportal.mail.verp import envelope_sender

    port = free_port()
    counted = Path(tempfile.mkdtemp(prefix="refportal-bench-")) / "received"
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sink.py"), str(port), str(counted)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    ours: list[float] = []
    plain: list[float] = []
    try:
        app = app_for(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_BATCH_SIZE=500)
        with app.app_context():
            drain = OutboxEmail.to_address.like("drain%")
            _empty_outbox(drain)
            for i in range(count):
                queue_email(
                    "verify_email", f"drain{i}@example.org", name=f"N{i}", link="https://x/verify", valid_hours=1
                )
            db.session.commit()
            # The very bytes refportal's sender sends (built when queued), from its envelope sender.
            messages = [
                (envelope_sender(row.id), [row.to_address], row.wire_message)
                for row in db.session.scalars(sa.select(OutboxEmail).where(drain).order_by(OutboxEmail.id))
            ]
            assert len(messages) == count and all(payload for _, _, payload in messages)
            for _ in range(rounds):
                db.session.execute(
                    sa.update(OutboxEmail)
                    .where(drain)
                    .values(status=OutboxStatus.QUEUED, attempts=0, sent_at=None, next_attempt_at=sa.func.now())
                )
                db.session.commit()
                db.session.expunge_all()
                _vacuum_outbox()
                started = time.monotonic()
                while deliver_due().claimed:
                    pass
                ours.append(time.monotonic() - started)
                sent = db.session.scalar(
                    sa.select(sa.func.count()).where(drain, OutboxEmail.status == OutboxStatus.SENT)
                )
                db.session.commit()
                assert sent == count, f"{sent} of {count} marked sent"
                started = time.monotonic()
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for sender, to, payload in messages:
                        smtp.sendmail(sender, to, payload)
                plain.append(time.monotonic() - started)
            _empty_outbox(drain)
            db.engine.dispose()
    finally:
        sink.terminate()
        sink.wait(30)
    received = int(counted.read_text())
    assert received == 2 * count * rounds, f"the sink received {received} of {2 * count * rounds}"
    refportal_seconds, smtplib_seconds = sorted(ours)[rounds // 2], sorted(plain)[rounds // 2]
    log(f"mail: refportal {[round(t, 2) for t in ours]} s, smtplib {[round(t, 2) for t in plain]} s")
    return {
        "messages": count,
        "rounds": rounds,
        "refportal_seconds": round(refportal_seconds, 2),
        "smtplib_seconds": round(smtplib_seconds, 2),
        "ratio": round(smtplib_seconds / refportal_seconds, 2),
    }


def _vacuum_outbox() -> None:
    """Each round starts from the same table: the earlier rounds' row versions (a reset, a claim and a mark
    per message) removed before the clock starts, not by autovacuum at some moment of a timed round."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE outbox_email")


def _empty_outbox(drain) -> None:
    """TRUNCATE: a DELETE of thousands of outbox rows checks each one's resent copies (a self-reference
    without an index: refportal never deletes outbox rows) and takes minutes."""
    from refportal.mail.models import OutboxEmail

    others = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail).where(~drain))
    if others:
        raise RuntimeError(f"the outbox holds {others} messages of its own: the drain needs a database without any")
    db.session.execute(sa.text("TRUNCATE outbox_email"))
    db.session.commit()


def measure_three(url: str, count: int = 5000, rounds: int = 3, runs: int = 3) -> dict:
    """`runs` separate comparisons (measure()); met when every run's ratio reaches TARGET."""
    results = [measure(url, count, rounds) for _ in range(runs)]
    ratios = [result["ratio"] for result in results]
    log(f"mail: ratios {ratios} (target ≥ {TARGET} in every run)")
    return {
        "messages": count,
        "rounds": rounds,
        "runs": results,
        "ratios": ratios,
        "met": all(ratio >= TARGET for ratio in ratios),
    }


def summary(mail: dict) -> str:
    """The line for bench/results/latest.md."""
    runs = "; ".join(
        f"{run['ratio']}× ({run['refportal_seconds']} s vs {run['smtplib_seconds']} s)" for run in mail["runs"]
    )
    return (
        f"- Mail: {mail['messages']:,} messages, {len(mail['runs'])} runs of {mail['rounds']} alternating rounds "
        f"(medians), smtplib's time ÷ refportal's sender's: {runs} (target ≥ {TARGET} in every run "
        f"{'✓' if mail['met'] else '✗'})"
    )


def fresh_database() -> str:
    """An empty database at the migrations' head."""
    from flask_migrate import upgrade

    prefix = os.environ.get("BENCH_DATABASE_PREFIX")
    name = f"{prefix}_mail" if prefix else "bench_mail_drain"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    app = app_for(url, ENV_NAME="test")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    url = fresh_database()
    try:
        print(summary(measure_three(url, count, rounds)))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
