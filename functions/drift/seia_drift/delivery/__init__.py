"""Delivery of incident changes: one message per model and channel (messages), sent where it goes (send)."""
