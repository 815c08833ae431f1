"""Storefront forms of the notifications app."""
