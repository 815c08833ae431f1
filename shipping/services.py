"""Commands of the shipping app: everything that changes its state."""
