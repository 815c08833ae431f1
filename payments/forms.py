"""Storefront forms of the payments app."""
