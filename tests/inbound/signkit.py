"""Keys the webhook tests make, sign with, and serve: an SNS signing certificate on a
loopback HTTPS server, a SendGrid ECDSA key, Mailgun HMACs, Postmark basic auth."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import ssl
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

SNS_CERT_URL = "https://sns.ap-northeast-2.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:ses-bounces"


class SnsSigner:
    """An RSA key, its self-signed CA certificate (also the loopback server's TLS cert), and
    the signing certificate that CA issues to sns.amazonaws.com, as AWS's is."""

    def __init__(self, directory: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.ca_name = name
        self.sns_pem = self.issue("sns.amazonaws.com")
        self.cert_file = directory / "sns-cert.pem"
        self.cert_file.write_bytes(self.cert_pem)
        self.key_file = directory / "sns-key.pem"
        self.key_file.write_bytes(self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))  # fmt: skip

    def issue(self, common_name: str) -> bytes:
        """A certificate for this key, issued by the test CA to ``common_name``."""
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(self.ca_name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        return cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, doc: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
        from publisher.inbound.webhooks.ses import canonical

        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical(doc), padding.PKCS1v15(), algorithm)
        return {**doc, "SignatureVersion": version,
                "Signature": base64.b64encode(signature).decode()}  # fmt: skip


class LoopbackHttps:
    """Serves the SNS certificate (any *.pem path) and records every GET, over TLS."""

    def __init__(self, signer: SnsSigner) -> None:
        self.requests: list[str] = []
        self.pem = signer.sns_pem  # what a .pem path serves (a test may swap it)
        requests, server = self.requests, self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                payload = (
                    server.pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                )
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(signer.cert_file, signer.key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.ca = signer.cert_file
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fetch(self, url: str) -> bytes:
        """The CertFetcher port: the SNS URL, fetched from this loopback server instead."""
        path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(self.ca))) as client:
            resp = client.get(f"https://127.0.0.1:{self.port}{path}")
        return resp.content

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ses_notification(note: dict[str, Any], *, when: dt.datetime, message_id: str) -> dict[str, Any]:
    return {
        "Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC,
        "Message": json.dumps(note), "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SigningCertURL": SNS_CERT_URL,
        "UnsubscribeURL": "https://sns.ap-northeast-2.amazonaws.com/?Action=Unsubscribe",
    }  # fmt: skip


class SendGridKey:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_b64 = base64.b64encode(der).decode()

    def headers(self, body: bytes, stamp: int) -> dict[str, str]:
        sig = self.key.sign(str(stamp).encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(stamp),
            "Content-Type": "application/json",
        }


def mailgun_body(key: str, event_data: dict[str, Any], stamp: int, token: str) -> bytes:
    # surrogatepass: as the app encodes what is signed, so a token may hold a lone surrogate
    signed = f"{stamp}{token}".encode("utf-8", "surrogatepass")
    sig = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"timestamp": str(stamp), "token": token, "signature": sig},
        "event-data": event_data,
    }).encode()  # fmt: skip
