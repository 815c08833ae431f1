"""Reactions of the inventory app to other apps' events (autodiscovered)."""
