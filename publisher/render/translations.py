"""The words around the news, in Korean (default) and English: one module for every
translation. Templates see a language's table as ``t``: ``MAIL_STRINGS`` in the emails,
``PAGE_STRINGS`` on the reader pages; dates are written by ``local_date`` / ``local_time``.
"""

from __future__ import annotations

from datetime import datetime

WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")

MAIL_STRINGS: dict[str, dict[str, str]] = {
    "ko": {
        "view_in_browser": "브라우저에서 보기",
        "new_articles": "새 기사",
        "most_viewed": "많이 본 뉴스",
        "other_section": "기타",
        "more_on_site": "사이트에서 {n}건 더 보기",
        "read_more": "사이트에서 더 보기",
        "why": "{site}의 뉴스레터를 구독하셔서 이 메일을 받으셨습니다.",
        "click_note": "이 메일의 기사 링크는 구독자별로 클릭을 기록합니다. "
        "구독 설정에서 끌 수 있습니다.",
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
        # Breaking-news alerts (issue 15)
        "alert_label": "속보",
        "alert_why": "{site} 뉴스레터 구독 설정에서 속보 알림을 받겠다고 하셔서 이 메일을 "
        "받으셨습니다.",
        "alert_stop": "속보 알림 그만 받기",
    },
    "en": {
        "view_in_browser": "View in browser",
        "new_articles": "New articles",
        "most_viewed": "Most viewed",
        "other_section": "Other",
        "more_on_site": "{n} more on the site",
        "read_more": "More on the site",
        "why": "You receive this because you subscribed to the {site} newsletter.",
        "click_note": "Article links in this email record your clicks; "
        "turn this off in your preferences.",
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
        "alert_label": "Breaking news",
        "alert_why": "You receive this because you chose breaking-news alerts in your {site} "
        "newsletter preferences.",
        "alert_stop": "Stop breaking-news alerts",
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


# The words on the reader pages.
PAGE_STRINGS: dict[str, dict[str, str]] = {
    "ko": {
        "subscribe_title": "뉴스레터 구독",
        "subscribe_intro": "{site} 뉴스레터를 이메일로 받아 보세요.",
        "consent_text": "구독 신청 시 이메일 주소와 이름을 뉴스레터 발송에만 이용하며, "
        "광고성 정보가 포함될 수 있습니다. "
        "언제든지 메일 하단의 수신거부 링크로 동의를 철회할 수 있습니다.",
        "email": "이메일 주소",
        "name": "이름 (선택)",
        "sections": "받을 분야",
        "sections_hint": "선택하지 않으면 모든 분야를 받습니다.",
        "alerts_legend": "속보",
        "alerts_choice": "속보 알림 받기",
        "alerts_hint": "큰 뉴스가 나면 바로 메일로 알려 드립니다. 하루 몇 건을 넘지 않습니다.",
        "frequency": "받는 주기",
        "daily": "매일",
        "weekly": "매주",
        "subscribe_button": "구독 신청",
        "subscribe_done_title": "메일함을 확인해 주세요",
        "subscribe_done": "입력하신 주소로 확인 메일을 보냈습니다. 메일의 버튼을 눌러야 "
        "구독이 시작됩니다. 이미 구독 중이라면 아무것도 바뀌지 않습니다.",
        "confirm_title": "구독 확인",
        "confirm_intro": "아래 버튼을 누르면 구독이 시작됩니다.",
        "confirm_button": "구독 확인하기",
        "confirmed_title": "구독이 확인되었습니다",
        "confirmed": "다음 뉴스레터부터 보내 드립니다.",
        "unsub_title": "구독 해지",
        "unsub_intro": "이 주소로 더 이상 뉴스레터를 받지 않으시겠습니까?",
        "unsub_button": "구독 해지하기",
        "unsubscribed_title": "구독이 해지되었습니다",
        "unsubscribed": "더 이상 뉴스레터를 보내지 않습니다.",
        "prefs_title": "구독 설정",
        "prefs_for": "{email} 의 구독 설정",
        "save": "저장",
        "saved": "설정을 저장했습니다.",
        "my_data": "내 정보",
        "download": "내 정보 내려받기 (JSON)",
        "delete": "내 정보 삭제",
        "delete_note": "삭제하면 구독과 설정이 모두 지워집니다.",
        "clicks_title": "클릭 기록",
        "clicks_on": "뉴스레터의 기사 링크를 누르면 어떤 기사를 언제 눌렀는지 기록합니다 "
        "({days}일 보관). 기록은 '내 정보 내려받기'에서 볼 수 있습니다.",
        "clicks_off": "클릭을 구독자별로 기록하지 않습니다. 다음 뉴스레터부터 적용됩니다.",
        "clicks_stop": "클릭 기록 끄기 (기록도 삭제)",
        "clicks_start": "클릭 기록 다시 켜기",
        "prefs_unsubscribed": "구독이 해지된 상태입니다. 뉴스레터를 보내지 않습니다. "
        "다시 받으시려면 '다시 구독하기'를 누르세요. 이 주소로 확인 메일을 보내 드립니다.",
        "prefs_pending": "구독 확인을 기다리고 있습니다. 확인 메일의 버튼을 눌러야 뉴스레터를 "
        "보내 드립니다.",
        "resubscribe_button": "다시 구독하기",
        "saved_inactive": "설정을 저장했습니다. 구독이 해지된 상태이므로 다시 구독하기 전에는 "
        "메일을 보내지 않습니다.",
        "resubscribe_sent_title": "확인 메일을 보냈습니다",
        "resubscribe_sent": "이 주소로 확인 메일을 보냈습니다. 메일의 버튼을 누르면 구독이 "
        "다시 시작됩니다.",
        "confirm_used_title": "이미 사용한 확인 링크입니다",
        "confirm_used": "이 확인 링크는 이미 사용되었거나, 그 뒤에 새 확인 메일이 발송되어 더 "
        "이상 쓸 수 없습니다. 가장 최근에 받은 확인 메일의 버튼을 눌러 주세요.",
        "delete_title": "내 정보 삭제",
        "delete_confirm_intro": "{email} 의 구독과 설정을 모두 지웁니다. 삭제한 정보는 되돌릴 수 "
        "없습니다. 삭제하시겠습니까?",
        "delete_confirm_button": "삭제하기",
        "cancel": "취소",
        "article_missing_title": "기사를 찾을 수 없습니다",
        "article_missing": "이 기사는 없거나 더 이상 공개되지 않습니다. 주소를 확인해 주세요.",
        "deleted_title": "정보를 삭제했습니다",
        "deleted": "구독 정보가 모두 삭제되었습니다.",
        "bad_link_title": "링크를 사용할 수 없습니다",
        "bad_link": "링크가 잘못되었거나 기한이 지났습니다. 메일에 있는 링크를 다시 "
        "확인하시거나 새로 신청해 주세요.",
        "share_title": "기사 메일 전송",
        "share_to": "받는 사람 이메일",
        "share_name": "보내는 사람 이름",
        "share_note": "메시지 (선택, 300자 이내, 링크 불가)",
        "share_button": "메일 보내기",
        "share_done_title": "메일을 보냈습니다",
        "share_done": "기사를 메일로 보냈습니다.",
        "share_hp": "이 칸은 비워 두세요",
        "share_blocked_title": "공유 메일 수신 거부",
        "share_block_intro": "이 주소로 오는 기사 공유 메일을 앞으로 받지 않으시겠습니까?",
        "share_block_button": "공유 메일 받지 않기",
        "share_blocked": "앞으로 이 주소로 기사 공유 메일을 보내지 않습니다.",
        "too_many_title": "잠시 후 다시 시도해 주세요",
        "too_many": "요청이 너무 많습니다. 나중에 다시 시도해 주세요.",
        "error_title": "입력을 확인해 주세요",
        "back": "돌아가기",
        "language": "English",
        "err_email": "이메일 주소 하나를 정확히 입력해 주세요.",
        "err_name": "이름은 한 줄, 50자 이내로, 링크 없이 입력해 주세요.",
        "err_note": "메시지는 300자 이내의 일반 텍스트로, 링크 없이 입력해 주세요.",
        "err_form": "양식이 만료되었습니다. 페이지를 새로 고친 뒤 다시 보내 주세요.",
        "err_fast": "너무 빨리 보냈습니다. 잠시 후 다시 보내 주세요.",
        "err_used": "이 양식으로는 이미 보냈습니다. 다시 보내려면 아래 양식으로 보내 주세요.",
        "err_choice": "분야나 주기 선택이 올바르지 않습니다.",
    },
    "en": {
        "subscribe_title": "Newsletter",
        "subscribe_intro": "Get the {site} newsletter by email.",
        "consent_text": "We use your address and name only to send the newsletter, which may "
        "contain advertising. You can withdraw consent at any time with the link in each mail.",
        "email": "Email address",
        "name": "Name (optional)",
        "sections": "Sections",
        "sections_hint": "None ticked: you get every section.",
        "alerts_legend": "Breaking news",
        "alerts_choice": "Breaking-news alerts",
        "alerts_hint": "An email as soon as big news breaks; never more than a few a day.",
        "frequency": "How often",
        "daily": "Daily",
        "weekly": "Weekly",
        "subscribe_button": "Subscribe",
        "subscribe_done_title": "Check your inbox",
        "subscribe_done": "We sent a confirmation email to that address. Your subscription "
        "starts when you press its button. If you already subscribe, nothing changes.",
        "confirm_title": "Confirm your subscription",
        "confirm_intro": "Press the button to start your subscription.",
        "confirm_button": "Confirm subscription",
        "confirmed_title": "Subscription confirmed",
        "confirmed": "You will get the next newsletter.",
        "unsub_title": "Unsubscribe",
        "unsub_intro": "Stop sending the newsletter to this address?",
        "unsub_button": "Unsubscribe",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed": "We will not send you the newsletter any more.",
        "prefs_title": "Preferences",
        "prefs_for": "Preferences of {email}",
        "save": "Save",
        "saved": "Your preferences are saved.",
        "my_data": "My data",
        "download": "Download my data (JSON)",
        "delete": "Delete my data",
        "delete_note": "Deleting removes your subscription and preferences.",
        "clicks_title": "Click records",
        "clicks_on": "When you open an article from the newsletter, we record which one and "
        "when (kept {days} days). Download my data shows them.",
        "clicks_off": "Your clicks are not recorded per reader, from the next newsletter on.",
        "clicks_stop": "Stop recording my clicks (and delete them)",
        "clicks_start": "Record my clicks again",
        "prefs_unsubscribed": "You are unsubscribed: we send you no newsletter. To get it "
        "again, press “Subscribe again”; we will send a confirmation email to this address.",
        "prefs_pending": "Your subscription waits for confirmation: press the button in the "
        "confirmation email.",
        "resubscribe_button": "Subscribe again",
        "saved_inactive": "Your preferences are saved. You are unsubscribed, so we send nothing "
        "until you subscribe again.",
        "resubscribe_sent_title": "Check your inbox",
        "resubscribe_sent": "We sent a confirmation email to this address. Your subscription "
        "starts again when you press its button.",
        "confirm_used_title": "This confirmation link was already used",
        "confirm_used": "This link was used already, or a newer confirmation email replaced it. "
        "Press the button in the most recent confirmation email.",
        "delete_title": "Delete my data",
        "delete_confirm_intro": "This removes the subscription and preferences of {email}. It "
        "cannot be undone. Delete them?",
        "delete_confirm_button": "Delete",
        "cancel": "Cancel",
        "article_missing_title": "Article not found",
        "article_missing": "This article does not exist or is no longer published. Check the "
        "address.",
        "deleted_title": "Your data is deleted",
        "deleted": "Your subscription data has been deleted.",
        "bad_link_title": "This link cannot be used",
        "bad_link": "The link is wrong or has expired. Check the link in the email, "
        "or subscribe again.",
        "share_title": "Send this article by email",
        "share_to": "Recipient's email",
        "share_name": "Your name",
        "share_note": "Message (optional, up to 300 characters, no links)",
        "share_button": "Send",
        "share_done_title": "Sent",
        "share_done": "The article is on its way.",
        "share_hp": "Leave this empty",
        "share_blocked_title": "Block shared articles",
        "share_block_intro": "Stop all shared-article emails to this address?",
        "share_block_button": "Block shared articles",
        "share_blocked": "We will not send shared articles to this address again.",
        "too_many_title": "Please try again later",
        "too_many": "Too many requests. Please try again later.",
        "error_title": "Please check the form",
        "back": "Back",
        "language": "한국어",
        "err_email": "Enter exactly one valid email address.",
        "err_name": "Your name: one line, up to 50 characters, no links.",
        "err_note": "The message: plain text up to 300 characters, no links.",
        "err_form": "The form has expired. Reload the page and send again.",
        "err_fast": "That was too fast. Please wait a moment and send again.",
        "err_used": "This form has already been sent. To send again, fill in the form below.",
        "err_choice": "That section or frequency is not available.",
    },
}
