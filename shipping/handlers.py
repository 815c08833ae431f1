"""Reactions of the shipping app to other apps' events (autodiscovered)."""
