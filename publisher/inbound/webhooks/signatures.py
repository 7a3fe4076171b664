"""Public-key signature checks of the webhooks: the only importer of cryptography.

SNS signs with RSA (PKCS#1 v1.5; SHA-1 for SignatureVersion 1, SHA-256 for 2) under an X.509
certificate; SendGrid with ECDSA P-256 / SHA-256 under a key given in its settings page.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from publisher.inbound.webhooks.events import BadSignature, NotConfigured


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("signature is not base64") from None


def cert_names(cert_pem: bytes) -> set[str]:
    """The subject's common names and the DNS names of the certificate, lower case."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise BadSignature("the signing certificate cannot be read") from None
    names = {str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    return names | {n.lower() for n in san.get_values_for_type(x509.DNSName)}


def verify_rsa_cert(cert_pem: bytes, signature: str, data: bytes,
                    digest: Literal["sha1", "sha256"]) -> None:  # fmt: skip
    try:
        key = x509.load_pem_x509_certificate(cert_pem).public_key()
    except ValueError:
        raise BadSignature("the signing certificate cannot be read") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadSignature("the signing certificate does not hold an RSA key")
    algorithm = hashes.SHA1() if digest == "sha1" else hashes.SHA256()
    try:
        key.verify(_b64(signature), data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise BadSignature("signature does not verify") from None


def verify_ecdsa(public_key_b64: str, signature: str, data: bytes) -> None:
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    except (ValueError, binascii.Error):
        raise NotConfigured("sendgrid_public_key is not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise NotConfigured("sendgrid_public_key is not an ECDSA key")
    try:
        key.verify(_b64(signature), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature("signature does not verify") from None
