"""Storefront pages of the notifications app."""
