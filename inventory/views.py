"""Storefront pages of the inventory app."""
