"""Storefront forms of the inventory app."""
