"""Celery tasks of the subscriptions app: thin, each calls one service."""
