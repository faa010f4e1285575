"""Fault and concurrency suite (issue #9)."""
