"""Celery tasks of the shipping app: thin, each calls one service."""
