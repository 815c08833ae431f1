"""Commands of the payments app: everything that changes its state."""
