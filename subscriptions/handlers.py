"""Reactions of the subscriptions app to other apps' events (autodiscovered)."""
