"""A throw-away Dovecot IMAP server (Debian's dovecot-imapd), for tests only.

Run as a non-root user (``dovecot`` when the tests run as root, else the current user), on
127.0.0.1 and a free port, implicit TLS with a self-signed certificate made here, users in
a passwd-file, mail in Maildirs under a temp dir. Nothing of the system's Dovecot is used.
"""

from __future__ import annotations

import datetime as dt
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.pgserver import free_port

DOVECOT = Path("/usr/sbin/dovecot")


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(cert.pem, key.pem) for ``host`` (an IP address SAN), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    return cert_file, key_file


CONFIG = """
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  user = {user}
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service stats {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, *, username: str = "bounces", password: str = "s3cret-pass") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="publisher-dovecot-"))
        self.port = free_port()
        self.username, self.password = username, password
        self.user = "dovecot" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def maildir(self) -> Path:
        return self.dir / "home" / self.username / "Maildir"

    @property
    def cert(self) -> Path:
        return self.dir / "cert.pem"

    def start(self) -> Dovecot:
        for sub in ("run", "state", "home"):
            (self.dir / sub).mkdir()
        self_signed(self.dir)
        (self.dir / "passwd").write_text(f"{self.username}:{{PLAIN}}{self.password}\n")
        conf = self.dir / "dovecot.conf"
        group = grp.getgrgid(self.gid).gr_name
        conf.write_text(CONFIG.format(dir=self.dir, user=self.user, uid=self.uid, gid=self.gid,
                                      group=group, port=self.port))  # fmt: skip
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self._own(self.dir)
        cmd = [str(DOVECOT), "-F", "-c", str(conf)]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait_tls()
        return self

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, d) for d in dirs),
                         *(os.path.join(root, f) for f in files)]:  # fmt: skip
                os.chown(name, self.uid, self.gid)

    def _wait_tls(self) -> None:
        deadline = time.monotonic() + 20
        context = ssl.create_default_context(cafile=str(self.cert))
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=2) as raw,
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
                ):
                    if tls.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)  # polling with a deadline: the server is starting
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log()}")

    def deliver(self, data: bytes) -> None:
        """Put a message into the user's INBOX as an MTA would (tmp/ then new/)."""
        name = f"{int(time.time())}.{uuid.uuid4().hex}.test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(data)
        self._own(tmp)
        os.rename(tmp, self.maildir / "new" / name)

    def folder(self, name: str) -> Path:
        return self.maildir / f".{name}"

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        out = path.read_text(errors="replace") if path.exists() else ""
        return out[-3000:]

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
