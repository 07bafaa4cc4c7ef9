"""A real IMAP server for the tests: Debian's dovecot in the foreground, on a free loopback port,
with its whole configuration, mail and state in a temporary folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.smtp import free_port

USER, PASSWORD = "bounces", "bounce-test-password"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
info_log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_location = maildir:{tmp}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
first_valid_gid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def _accounts() -> tuple[str, str, int, int]:
    """Login user, internal user, mail uid and gid. As root, dovecot's own unprivileged users (its
    login process refuses to run as root); otherwise the current user for everything."""
    import pwd

    if os.getuid() == 0:
        login, internal = pwd.getpwnam("dovenull"), pwd.getpwnam("dovecot")
        return login.pw_name, internal.pw_name, internal.pw_uid, internal.pw_gid
    me = pwd.getpwuid(os.getuid())
    return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid


class DovecotServer:
    def __init__(self):
        # Not under pytest's tmp folders: those are private to root, and dovecot's users must reach
        # their mail.
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix="refportal-imap-"))
        tmp.chmod(0o755)
        self.port = free_port()
        self.user, self.password = USER, PASSWORD
        login_user, internal_user, uid, gid = _accounts()
        for folder in ("run", "state", "mail", "home"):
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        for folder in ("mail", "home"):
            os.chown(tmp / folder, uid, gid)
        (tmp / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.config = tmp / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(tmp=tmp, port=self.port, uid=uid, gid=gid, login_user=login_user, internal_user=internal_user)
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> DovecotServer:
        self.output = open(self.tmp / "dovecot.out", "wb")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [dovecot_binary(), "-F", "-c", str(self.config)], stdout=self.output, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                self.stop()
                raise RuntimeError(f"dovecot exited: {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        log = self.log()
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {log}")

    def log(self) -> str:
        paths = (self.tmp / "dovecot.out", self.tmp / "dovecot.log")
        found = [path.read_text(errors="replace")[-2000:] for path in paths if path.exists()]
        return "\n".join(found)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.output.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"

    def client(self):
        from imapclient import IMAPClient

        imap = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message into the mailbox (IMAP APPEND), unseen."""
        with self.client() as imap:
            imap.append(folder, raw)

    def flags(self, folder: str = "INBOX") -> list[set[bytes]]:
        with self.client() as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            return [set(v[b"FLAGS"]) for _, v in sorted(imap.fetch(uids, ["FLAGS"]).items())] if uids else []
