"""DKIM: a signed digest verifies, covers List-Unsubscribe-Post, and tampering breaks it."""

from __future__ import annotations

from datetime import UTC, datetime

from publisher.delivery.dkimsign import sign, verify
from publisher.messages.enqueue import fill as personalise
from publisher.messages.mime import ListInfo, Sender, compose
from publisher.render.templates import RenderedEmail

SECRET = "test-secret-key-0123456789"
T = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def _message() -> bytes:
    rendered = RenderedEmail(
        subject="한빛일보 아침 브리핑 2026년 11월 24일 (화)",
        html="<html><body><p>기사</p><a href='%%UNSUBSCRIBE_URL%%'>해지</a></body></html>",
        text="기사\n해지: %%UNSUBSCRIBE_URL%%\n",
    )
    body = compose(
        rendered=rendered,
        sender=Sender("한빛일보", "news@news.example.kr"),
        date=T,
        list_info=ListInfo("아침 뉴스레터", "morning.news.example.kr"),
    )
    subs = {
        "%%TO%%": "reader@example.kr",
        "%%UNSUBSCRIBE_URL%%": "https://news.example.kr/u/abc.def",
        "%%UNSUBSCRIBE_MAILTO%%": "unsubscribe@news.example.kr?subject=unsubscribe%20abc.def",
    }
    return personalise(body, subs, "<abc@news.example.kr>")


def test_dkim_verifies_and_covers_list_unsubscribe_post(keypair: tuple[bytes, bytes]) -> None:
    private, record = keypair

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel1._domainkey.news.example.kr."
        return record

    signed = sign(_message(), selector="sel1", domain="news.example.kr", private_key=private)
    assert signed.startswith(b"DKIM-Signature:")
    head = signed.split(b"\r\n\r\n", 1)[0].lower()
    for h in (b"from", b"subject", b"date", b"message-id", b"list-unsubscribe",
              b"list-unsubscribe-post"):  # fmt: skip
        assert h in head.split(b" h=", 1)[1].split(b";", 1)[0].replace(b"\r\n", b"")
    assert verify(signed, dnsfunc=dns)
    tampered = signed.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks",
    )
    assert tampered != signed
    assert not verify(tampered, dnsfunc=dns)
