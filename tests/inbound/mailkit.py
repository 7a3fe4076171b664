"""Inbound messages as real mail systems write them: DSNs (Postfix, Exim, Exchange-style
RFC 3464, a delayed one), an ARF complaint, an emailed unsubscribe, auto-replies, junk."""

from __future__ import annotations

BOUNCE_DOMAIN = "news.example.kr"


def postfix_dsn(
    verp: str, rcpt: str, *, status: str = "5.1.1", message_id: str = "<orig@news.example.kr>",
    action: str = "failed", charset: str = "us-ascii", mid: str = "<dsn1@mx.example.net>",
) -> bytes:  # fmt: skip
    diag = f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"
    if status.startswith("4"):
        diag = f"452 4.2.2 <{rcpt}>: Mailbox full"
    return f"""Return-Path: <>
Delivered-To: {verp}
Received: from mx.example.net (mx.example.net [192.0.2.1])
Date: Tue, 24 Nov 2026 07:01:00 +0900 (KST)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Message-Id: {mid}
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B1"

This is a MIME-encapsulated message.

--B1
Content-Description: Notification
Content-Type: text/plain; charset={charset}

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host mx.example.net said: {diag}

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4ABC123
Arrival-Date: Tue, 24 Nov 2026 07:00:59 +0900 (KST)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diag}

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{verp}>
From: news@news.example.kr
To: {rcpt}
Subject: morning
Message-ID: {message_id}

--B1--
""".replace("\n", "\r\n").encode()


def exim_bounce(rcpt: str, *, message_id: str, verp: str = "news@news.example.kr") -> bytes:
    """Exim's own format (no DSN parts), as flufl.bounce's Exim detector knows it."""
    return f"""Return-path: <>
Envelope-to: {verp}
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: {verp}
Subject: Mail delivery failed: returning message to sender
Message-Id: <exim-{rcpt}@mx.example.org>
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
Date: Tue, 24 Nov 2026 07:02:00 +0900

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <{verp}>
Message-ID: {message_id}
From: news@news.example.kr
To: {rcpt}
Subject: morning

hello
""".replace("\n", "\r\n").encode()


def arf(
    verp: str, rcpt: str, *, message_id: str = "<orig@news.example.kr>",
    mid: str = "<arf1@fbl.example.com>",
) -> bytes:  # fmt: skip
    return f"""From: <fbl@fbl.example.com>
Date: Tue, 24 Nov 2026 09:00:00 +0000
Subject: FW: morning
To: <abuse@news.example.kr>
MIME-Version: 1.0
Message-ID: {mid}
Content-Type: multipart/report; report-type=feedback-report;
	boundary="part1"

--part1
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP
192.0.2.1 on Tue, 24 Nov 2026 08:00:00 +0000.

--part1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: Tue, 24 Nov 2026 08:00:00 +0000
Source-IP: 192.0.2.1

--part1
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{verp}>
From: <news@news.example.kr>
To: <{rcpt}>
Subject: morning
Message-ID: {message_id}
Date: Tue, 24 Nov 2026 08:00:00 +0000

hello
--part1--
""".replace("\n", "\r\n").encode()


def unsubscribe_mail(sender: str, token: str, *, in_body: bool = False, mid: str = "") -> bytes:
    subject = "unsubscribe" if in_body else f"unsubscribe {token}"
    body = f"unsubscribe {token}" if in_body else "please"
    return (
        f"From: {sender}\r\nTo: unsubscribe@news.example.kr\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid or token[:12]}@client.example>\r\n"
        "Date: Tue, 24 Nov 2026 08:00:00 +0000\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def vacation(to: str, *, mid: str = "<vac1@example.kr>") -> bytes:
    return (
        f"From: reader@example.kr\r\nTo: {to}\r\nSubject: =?utf-8?b?67aA7J6s7KSR?= (부재중)\r\n"
        f"Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\nMessage-ID: {mid}\r\n"
        "Date: Tue, 24 Nov 2026 08:00:00 +0000\r\n\r\n휴가 중입니다.\r\n"
    ).encode()


def challenge(to: str, *, mid: str = "<ch1@example.kr>") -> bytes:
    return (
        f"From: verify@spamarrest.example\r\nTo: {to}\r\nSubject: Please verify your email\r\n"
        f"X-Spamarrest: challenge\r\nMessage-ID: {mid}\r\n\r\nclick to verify\r\n"
    ).encode()


def junk(mid: str = "<junk1@example.com>") -> bytes:
    return (
        "From: someone@example.com\r\nTo: bounces@news.example.kr\r\nSubject: hello there\r\n"
        f"Message-ID: {mid}\r\n\r\nbuy now\r\n"
    ).encode()
