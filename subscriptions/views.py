"""Storefront pages of the subscriptions app."""
