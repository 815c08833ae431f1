"""Storefront forms of the orders app."""
