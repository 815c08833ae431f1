"""Read-only queries of the shipping app."""
