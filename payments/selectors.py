"""Read-only queries of the payments app."""
