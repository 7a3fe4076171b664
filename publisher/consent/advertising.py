"""정보통신망법 제50조 for advertising mail: the "(광고)" subject prefix, the sender's name and
contact and an unsubscribe notice in the body, and no sending in the quiet hours.

Article 50(4) and its enforcement decree (시행령 제61조) prescribe what an advertising mail
shows: "(광고)" at the start of the subject, the sender's name and contact in the body, and
how to refuse further mail (수신거부), free of charge. Article 50(3) forbids advertising sent
between 21:00 and 08:00 without separate consent: such mail is held, never dropped.
"""

from __future__ import annotations

import dataclasses
import html
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from publisher.core.config import Settings
from publisher.render.templates import RenderedEmail

PREFIX = "(광고)"


@dataclasses.dataclass(frozen=True, slots=True)
class Advertiser:
    name: str
    contact: str

    @classmethod
    def from_settings(cls, s: Settings) -> Advertiser:
        return cls(
            s.advertiser_name or s.from_name or s.site_name, s.advertiser_contact or s.from_address
        )


def subject(text: str) -> str:
    """The subject with "(광고)" first (once, even when the template already wrote it)."""
    bare = text.strip()
    return bare if bare.startswith(PREFIX) else f"{PREFIX} {bare}"


def notice_text(who: Advertiser, unsubscribe_url: str) -> str:
    return (
        f"\n\n[광고] 발신자: {who.name}\n연락처: {who.contact}\n"
        "본 메일은 광고성 정보 수신에 동의하신 분께 발송되었습니다.\n"
        f"수신거부 안내: 더 이상 받지 않으려면 아래 링크를 누르세요(무료).\n"
        f"수신거부(Unsubscribe): {unsubscribe_url}\n"
    )


def notice_html(who: Advertiser, unsubscribe_url: str) -> str:
    # One element per line: each stays far below the 998-byte line limit (a 200-character
    # Korean name is 600 bytes; the link's placeholder counts 300).
    return "\n".join((
        '<div class="ad-notice" style="font-size:12px;color:#555;padding:12px 0">',
        f"<p>[광고] 발신자: {html.escape(who.name)}",
        f"· 연락처: {html.escape(who.contact)}</p>",
        "<p>본 메일은 광고성 정보 수신에 동의하신 분께 발송되었습니다.",
        f'수신거부 안내: 더 이상 받지 않으려면 <a href="{unsubscribe_url}">수신거부</a>를',
        "누르세요(무료).</p></div>",
    ))  # fmt: skip


def mark(rendered: RenderedEmail, who: Advertiser, unsubscribe_url: str) -> RenderedEmail:
    """The rendered mail as advertising: prefixed subject, the notice at the end of the body
    (before ``</body>`` in HTML). ``unsubscribe_url`` is the per-recipient placeholder."""
    body_end = rendered.html.rfind("</body>")
    block = notice_html(who, unsubscribe_url)
    page = (
        rendered.html + block
        if body_end < 0
        else rendered.html[:body_end] + block + rendered.html[body_end:]
    )
    return dataclasses.replace(
        rendered, subject=subject(rendered.subject), html=page,
        text=rendered.text.rstrip("\n") + notice_text(who, unsubscribe_url),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (may cross midnight) in a time zone."""

    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, s: Settings) -> QuietHours | None:
        if not s.quiet_hours:
            return None
        a, _, b = s.quiet_hours.partition("-")
        return cls(time.fromisoformat(a), time.fromisoformat(b), ZoneInfo(s.quiet_hours_timezone))

    def opens_at(self, now: datetime) -> datetime | None:
        """When sending may start: None when ``now`` is outside the window."""
        local = now.astimezone(self.tz)
        t = local.time()
        crosses = self.start > self.end
        inside = (t >= self.start or t < self.end) if crosses else self.start <= t < self.end
        if not inside:
            return None
        day = local.date()
        if crosses and t >= self.start:
            day += timedelta(days=1)
        opens = datetime.combine(day, self.end, tzinfo=self.tz)
        return opens.astimezone(now.tzinfo)


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    """What a digest flagged ``advertising: true`` gets; built once per run."""

    advertiser: Advertiser
    quiet: QuietHours | None

    @classmethod
    def from_settings(cls, s: Settings) -> Rules:
        return cls(Advertiser.from_settings(s), QuietHours.from_settings(s))

    def apply(self, rendered: RenderedEmail, unsubscribe_url: str) -> RenderedEmail:
        return mark(rendered, self.advertiser, unsubscribe_url)

    def hold_until(self, now: datetime) -> datetime | None:
        """When an advertising mail queued at ``now`` may go: None for at once."""
        return None if self.quiet is None else self.quiet.opens_at(now)
