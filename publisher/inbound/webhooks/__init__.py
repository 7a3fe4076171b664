"""Events from sending services (Amazon SES via SNS, SendGrid, Postmark, Mailgun): each
module verifies its service's signature and time, and turns the payload into events that
go through the same effects as a bounce read from a mailbox (events.py)."""
