"""Clubs, their members and their plan subscriptions."""
