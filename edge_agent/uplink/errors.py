"""Typed uplink errors, so callers can tell bad input from a lost link."""

from __future__ import annotations


class UplinkError(Exception):
    """Base of every error the uplink raises on purpose."""


class PayloadError(UplinkError):
    """Bytes that are not a valid contract payload (bad JSON, wrong shape, bad compression)."""


class LinkDown(UplinkError):
    """The broker connection is gone or refused us; the caller reconnects with backoff."""
