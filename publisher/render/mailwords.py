"""The words around the news, in Korean (default) and English. Templates see them as ``t``."""

from __future__ import annotations

from datetime import datetime

WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")

STRINGS: dict[str, dict[str, str]] = {
    "ko": {
        "view_in_browser": "브라우저에서 보기",
        "new_articles": "새 기사",
        "most_viewed": "많이 본 뉴스",
        "other_section": "기타",
        "more_on_site": "사이트에서 {n}건 더 보기",
        "read_more": "사이트에서 더 보기",
        "why": "{site}의 뉴스레터를 구독하셔서 이 메일을 받으셨습니다.",
        "why_test": "[테스트] 발송 전 확인용으로 보낸 메일입니다.",
        "preferences": "구독 설정 변경",
        "unsubscribe": "구독 해지",
        "views": "조회",
        "archive_note": "지난 뉴스레터 보관함",
        "confirm_title": "구독을 확인해 주세요",
        "confirm_body": "{site} 뉴스레터 구독 신청을 받았습니다. "
        "아래 버튼을 눌러 구독을 확인해 주세요.",
        "confirm_button": "구독 확인하기",
        # The text part has no button: it points at the link, whose page has the button.
        "confirm_body_text": "{site} 뉴스레터 구독 신청을 받았습니다. 아래 링크를 열고, 열린 "
        "페이지에서 '구독 확인하기'를 눌러 구독을 확인해 주세요.",
        "confirm_link": "구독 확인 링크",
        "confirm_ignore": "신청하지 않으셨다면 이 메일을 무시하세요. "
        "확인하지 않으면 메일을 보내지 않습니다.",
        "confirm_why": "누군가 이 주소로 {site} 뉴스레터 구독을 신청했기 때문에 "
        "이 메일을 받으셨습니다.",
        "share_intro": "{sender}님이 {site}의 기사를 공유했습니다.",
        "share_note": "메시지",
        "share_why": "{sender}님이 {site}의 공유 기능으로 이 메일을 보냈습니다.",
        "share_block": "앞으로 공유 메일 받지 않기",
        "read_article": "기사 읽기",
    },
    "en": {
        "view_in_browser": "View in browser",
        "new_articles": "New articles",
        "most_viewed": "Most viewed",
        "other_section": "Other",
        "more_on_site": "{n} more on the site",
        "read_more": "More on the site",
        "why": "You receive this because you subscribed to the {site} newsletter.",
        "why_test": "[TEST] A copy sent for checking before the real send.",
        "preferences": "Change preferences",
        "unsubscribe": "Unsubscribe",
        "views": "views",
        "archive_note": "Newsletter archive",
        "confirm_title": "Please confirm your subscription",
        "confirm_body": "We received a request to subscribe to the {site} newsletter. "
        "Press the button below to confirm.",
        "confirm_button": "Confirm subscription",
        "confirm_body_text": "We received a request to subscribe to the {site} newsletter. "
        "Open the link below and press “Confirm subscription” on that page.",
        "confirm_link": "Confirmation link",
        "confirm_ignore": "If you did not ask for this, ignore this email: "
        "without confirmation we send nothing.",
        "confirm_why": "You receive this because someone asked to subscribe this address "
        "to the {site} newsletter.",
        "share_intro": "{sender} shared an article from {site} with you.",
        "share_note": "Message",
        "share_why": "{sender} sent this with the share feature of {site}.",
        "share_block": "Don't send me shared articles again",
        "read_article": "Read the article",
    },
}


def ko_date(at: datetime) -> str:
    """2026년 11월 24일 (화)"""
    return f"{at.year}년 {at.month}월 {at.day}일 ({WEEKDAYS_KO[at.weekday()]})"


def en_date(at: datetime) -> str:
    """Tue, 24 November 2026"""
    return f"{at:%a}, {at.day} {at:%B %Y}"


def local_date(at: datetime, language: str) -> str:
    return ko_date(at) if language == "ko" else en_date(at)


def local_time(at: datetime, language: str) -> str:
    if language == "ko":
        half = "오전" if at.hour < 12 else "오후"
        return f"{half} {(at.hour % 12) or 12}:{at.minute:02d}"
    return f"{at:%H:%M}"
