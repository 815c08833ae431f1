"""Reactions of the orders app to other apps' events (autodiscovered)."""
