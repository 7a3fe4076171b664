"""Readers: sign-up, confirmation, preferences, unsubscribe, sharing, the operator's subscriber
list.
"""
