"""The worker as a separate process, for the tests that run it for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.mail.helpers import ROOT


def worker_process(app, **settings: str) -> subprocess.Popen:
    """`flask --app refportal worker` in its own process, configured like `app`."""
    env = {
        **os.environ,
        "REFPORTAL_ENV": "test",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REFPORTAL_INSTANCE_PATH": app.instance_path,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "MAIL_TIMEOUT_SECONDS": "5",
        "PORTAL_BASE_URL": app.config["PORTAL_BASE_URL"],
        "WORKER_POLL_SECONDS": "1",
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "refportal", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen, timeout: float = 15) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=timeout)
    return output
