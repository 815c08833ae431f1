"""Read-only queries of the notifications app."""
