"""The shipped example configuration is valid as it stands, and its parts agree."""

from __future__ import annotations

import gzip
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from publisher.core.config import Settings, load_settings
from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_SITE = ROOT / "contrib" / "nginx" / "publisher.conf"
NGINX = "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK),
    reason="nginx not installed (apt-get install nginx; .ci/run does)",
)


def _example_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PUBLISHER_CONFIG", str(ROOT / "contrib" / "publisher.toml"))
    return load_settings()


def test_example_publisher_toml_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _example_settings(monkeypatch)
    assert s.database_url.startswith("postgresql://")
    assert s.problems() == []


def test_systemd_unit_has_restart_and_hardening() -> None:
    unit = (ROOT / "contrib" / "systemd" / "publisher.service").read_text()
    for line in ("Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ExecReload=/bin/kill -HUP $MAINPID"):  # fmt: skip
        assert line in unit


def test_example_toml_and_nginx_site_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """feeds_base_url is where nginx serves feeds_dir; public_base_url is what it proxies."""
    s = _example_settings(monkeypatch)
    site = NGINX_SITE.read_text("utf-8")
    feeds = urlsplit(s.feeds_base_url)
    assert (feeds.scheme, feeds.path) == ("https", "/feeds/")
    root = re.search(r"location /feeds/ \{\s*root (\S+);", site)
    assert root and Path(root.group(1)) / "feeds" == s.feeds_dir
    pages = urlsplit(s.public_base_url)
    assert f"location {pages.path}/ {{" in site
    assert f"proxy_pass http://127.0.0.1:{s.web_port}/;" in site
    assert feeds.hostname == pages.hostname and f"server_name {feeds.hostname};" in site


@needs_nginx
def test_nginx_site_passes_nginx_t_as_shipped(tmp_path: Path) -> None:
    assert _nginx_t(tmp_path, NGINX_SITE.read_text("utf-8")) == ""


@needs_nginx
def test_nginx_site_tls_lines_pass_nginx_t_once_certificates_exist(tmp_path: Path) -> None:
    """The commented HTTPS variant is valid too: swap the lines, point at real files."""
    cert, key = _self_signed(tmp_path)
    text = NGINX_SITE.read_text("utf-8")
    text = re.sub(r"^    listen 80;\n", "", text, count=1, flags=re.M)
    text = re.sub(r"^    # (listen 443|ssl_)", r"    \1", text, flags=re.M)
    text = text.replace("/etc/letsencrypt/live/news.example.kr/fullchain.pem", str(cert))
    text = text.replace("/etc/letsencrypt/live/news.example.kr/privkey.pem", str(key))
    head, _, redirect = text.partition("# With HTTPS on, send plain HTTP there:\n")
    text = head + re.sub(r"^# ?", "", redirect, flags=re.M)
    assert "    listen 443 ssl" in text and "    return 301" in text
    assert _nginx_t(tmp_path, text) == ""


# A feed long enough to be worth gzipping (gzip_min_length is 20 bytes).
_FEEDS = {
    "rss.xml": "<?xml version='1.0' encoding='UTF-8'?>\n<rss version=\"2.0\"><channel>"
    + "<item><title>여야, 예산안 막판 협상</title></item>" * 20 + "</channel></rss>\n",
    "atom.xml": "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
    + "<entry><title>한국은행, 기준금리 동결</title></entry>" * 20 + "</feed>\n",
    "feed.json": '{"version": "https://jsonfeed.org/version/1.1", "items": ['
    + ", ".join(['{"title": "기준금리 동결"}'] * 20) + "]}\n",
    "index.html": "<!doctype html><title>피드</title>" + "<p>피드 목록</p>" * 20 + "\n",
}  # fmt: skip
_FEED_TYPES = {
    "rss.xml": "application/rss+xml", "atom.xml": "application/atom+xml",
    "feed.json": "application/feed+json", "index.html": "text/html",
}  # fmt: skip


@needs_nginx
def test_nginx_site_gzips_feeds_and_says_utf_8(tmp_path: Path) -> None:
    """The real nginx on the shipped site: every feed gzipped on request, with its charset.

    A default_type carrying "; charset=utf-8" never matched gzip_types (nginx compares the
    whole type), so feeds went out uncompressed.
    """
    root = tmp_path / "www"
    (root / "feeds").mkdir(parents=True)
    for name, body in _FEEDS.items():
        (root / "feeds" / name).write_text(body, "utf-8")
    port = free_port()
    text = NGINX_SITE.read_text("utf-8").replace("root /var/lib/publisher;", f"root {root};")
    text = re.sub(r"^    listen 80;", f"    listen 127.0.0.1:{port};", text, count=1, flags=re.M)
    with _running_nginx(tmp_path, text, port):
        for name, body in _FEEDS.items():
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/feeds/{name}", headers={"Accept-Encoding": "gzip"}
            )
            with urllib.request.urlopen(request, timeout=10) as resp:
                kind, encoding = resp.headers["Content-Type"], resp.headers["Content-Encoding"]
                data = resp.read()
            assert kind == f"{_FEED_TYPES[name]}; charset=utf-8", name
            assert encoding == "gzip", name
            assert gzip.decompress(data).decode("utf-8") == body
        plain = f"http://127.0.0.1:{port}/feeds/rss.xml"  # no Accept-Encoding: not gzipped
        with urllib.request.urlopen(plain, timeout=10) as resp:
            assert resp.headers["Content-Encoding"] is None
            assert resp.read().decode("utf-8") == _FEEDS["rss.xml"]


@contextmanager
def _running_nginx(tmp: Path, text: str, port: int) -> Iterator[None]:
    """nginx in the foreground, one process (no workers, no user switch), until the block ends."""
    conf = _nginx_conf(tmp, text)
    proc = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf),
         "-g", "daemon off; master_process off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"nginx did not start: {err}")
                time.sleep(0.05)  # polling for the listening socket, bounded by the deadline
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_readme_nginx_snippet_types_match_the_shipped_site() -> None:
    """The README's Serving snippet and contrib/nginx say the same about types and gzip."""
    readme = (ROOT / "README.md").read_text("utf-8")
    snippet = readme.split("```nginx\n", 1)[1].split("```", 1)[0]
    site = NGINX_SITE.read_text("utf-8")
    wanted = ("default_type", "charset", "gzip")
    lines = [ln.split("#")[0].strip() for ln in snippet.splitlines()]
    lines = [ln for ln in lines if any(ln.startswith(w) or f" {w} " in ln for w in wanted)]
    assert len(lines) >= 6
    for line in lines:
        assert line in site
        assert "charset=" not in line  # the parameter comes from `charset utf-8;`


def _nginx_t(tmp: Path, text: str) -> str:
    """`nginx -t` on an http {} wrapper that includes a site file; its output when it fails.

    `nginx -t` binds the listening ports, so as a user who may not bind ports below 1024 they
    become free high ports.
    """
    if os.geteuid() != 0:
        for port in ("80", "443"):
            text = re.sub(rf"(listen (?:\[::\]:)?){port}\b", rf"\g<1>{free_port()}", text)
    conf = _nginx_conf(tmp, text)
    done = subprocess.run(
        [NGINX, "-t", "-q", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return "" if done.returncode == 0 else done.stdout + done.stderr


def _nginx_conf(tmp: Path, text: str) -> Path:
    """An http {} wrapper including the site ``text``; everything nginx writes is under ``tmp``."""
    site = tmp / "site.conf"
    site.write_text(text, "utf-8")
    temp = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"pid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log {tmp / 'access.log'};\n{temp}    include {site};\n}}\n",
        "utf-8",
    )  # fmt: skip
    return conf


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "news.example.kr")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp / "fullchain.pem", tmp / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_nginx_site_needs_no_certificate_as_shipped() -> None:
    """Checked without nginx too: no active line names a certificate or port 443."""
    lines = NGINX_SITE.read_text("utf-8").splitlines()
    active = [ln for ln in lines if not ln.lstrip().startswith("#")]
    assert not any("ssl_certificate" in ln or "443" in ln for ln in active)
