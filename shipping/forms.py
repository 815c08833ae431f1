"""Storefront forms of the shipping app."""
