"""Adversarial security suite (issue #9)."""
