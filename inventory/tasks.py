"""Celery tasks of the inventory app: thin, each calls one service."""
