"""Celery tasks of the payments app: thin, each calls one service."""
