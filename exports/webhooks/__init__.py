"""Outgoing signed webhooks (Standard Webhooks). See docs/webhooks.md."""
