"""Storefront pages of the shipping app."""
