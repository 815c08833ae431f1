"""Storefront pages of the payments app."""
