"""Celery tasks of the orders app: thin, each calls one service."""
