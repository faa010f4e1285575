"""Adversarial security suite (issue #9): authorization, authentication, injection."""
