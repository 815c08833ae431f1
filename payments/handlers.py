"""Reactions of the payments app to other apps' events (autodiscovered)."""
