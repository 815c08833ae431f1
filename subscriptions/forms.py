"""Storefront forms of the subscriptions app."""
