"""Tracked links: every article link of a digest is {public_base_url}/c/TOKEN, made once per
variant, naming run, variant, position and article, never the reader (issue 16)."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from sqlalchemy import Engine, select

from publisher.analytics.links import read_reader, read_target
from publisher.core.config import Settings
from publisher.delivery.dkimsign import sign, verify
from publisher.render.linebudget import check_message
from publisher.store.schema import articles
from tests.digestkit import NOW
from tests.emailkit import digest_messages

LINK = re.compile(r"https://news\.example\.kr/newsletter/c/([A-Za-z0-9_.\-]+)(/[A-Za-z0-9_.\-]+)?")


def _parts(raw: bytes) -> tuple[str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    html, text = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html is not None and text is not None
    return str(html.get_content()), str(text.get_content())


def _titles(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {int(i): str(t) for i, t in conn.execute(select(articles.c.id, articles.c.title))}


def test_every_article_link_is_a_signed_click_link_the_same_in_both_parts(
    engine: Engine, settings: Settings
) -> None:
    messages = digest_messages(engine, settings)
    titles = _titles(engine)
    tokens_by_reader = {}
    for rcpt, raw in messages.items():
        html, text = _parts(raw)
        assert "https://news.example.kr/article/" not in html + text  # no bare article link
        in_html = [m.group(1) for m in LINK.finditer(html)]
        in_text = [m.group(1) for m in LINK.finditer(text)]
        # The HTML links each article twice (headline, thumbnail) in the same order.
        assert list(dict.fromkeys(in_html)) == in_text, rcpt
        targets = [read_target(settings.secret_key, t, now=NOW) for t in in_text]
        assert [p for _r, _v, p, _a in targets] == list(range(1, len(targets) + 1))
        assert {r for r, *_ in targets} == {1}  # the run
        assert len({v for _r, v, _p, _a in targets}) == 1  # one variant per message
        for _r, _v, position, article_id in targets:  # the link's article is the one listed
            assert titles[article_id] in text.split(in_text[position - 1])[0].split("\n\n")[-1]
        assert not any(m.group(2) for m in LINK.finditer(html + text))  # no reader part
        tokens_by_reader[rcpt] = in_text
    # Nothing personal in a link: each token holds exactly run, variant, position and
    # article (read_target refuses any other shape), and the two readers' variants differ.
    assert all(len(v) > 5 for v in tokens_by_reader.values())
    first, second = tokens_by_reader.values()
    assert first != second


def test_links_survive_the_line_budget_and_dkim(
    engine: Engine, settings: Settings, keypair: tuple[bytes, bytes]
) -> None:
    long_base = "https://news.example.kr/" + "/".join(["newsletter-archive-path"] * 9)
    s = settings.model_copy(update={"public_base_url": long_base, "track_per_reader": True})
    private, record = keypair
    for raw in digest_messages(engine, s).values():
        check_message(raw)  # every line ≤ 998 bytes with 200+-byte links
        signed = sign(raw, selector="news", domain="news.example.kr", private_key=private)
        assert verify(signed, dnsfunc=lambda name, timeout=5: record)
        html, text = _parts(signed)
        assert f"{long_base}/c/" in text and f'href="{long_base}/c/' in html


def test_per_reader_links_name_the_reader_and_the_footer_says_so(
    engine: Engine, settings: Settings
) -> None:
    s = settings.model_copy(update={"track_per_reader": True})
    messages = digest_messages(engine, s)
    with engine.connect() as conn:
        from publisher.store.schema import subscribers

        ids = {
            str(e): int(i) for i, e in conn.execute(select(subscribers.c.id, subscribers.c.email))
        }
    for rcpt, raw in messages.items():
        html, text = _parts(raw)
        readers = {m.group(2) for m in LINK.finditer(html + text)}
        assert len(readers) == 1 and None not in readers
        (part,) = readers
        sid = read_reader(s.secret_key, part.lstrip("/"), now=NOW)
        expected = ids.get(rcpt) or ids["reader@한빛.kr"]
        assert sid == expected
        assert "구독자별로 클릭을 기록합니다" in html and "구독자별로" in text


def test_a_reader_who_opted_out_gets_aggregate_links(engine: Engine, settings: Settings) -> None:
    from publisher.analytics.readers import set_click_opt_out
    from tests.digestkit import add_subscriber

    s = settings.model_copy(update={"track_per_reader": True})
    sid = add_subscriber(engine, "minsu.kim@example.kr", ("politics", "economy"), name="김민수")
    set_click_opt_out(engine, sid, True, now=NOW)
    messages = digest_messages(engine, s)
    html, text = _parts(messages["minsu.kim@example.kr"])
    assert LINK.search(text) and not any(m.group(2) for m in LINK.finditer(html + text))
    other_html, _ = _parts(messages["reader@xn--xx3br43b.kr"])
    assert all(m.group(2) for m in LINK.finditer(other_html))


def test_tracking_off_keeps_article_urls(engine: Engine, settings: Settings) -> None:
    s = settings.model_copy(update={"track_clicks": False})
    for raw in digest_messages(engine, s).values():
        html, text = _parts(raw)
        assert "/c/" not in html + text and "https://news.example.kr/article/1" in text
