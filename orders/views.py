"""Storefront pages of the orders app."""
