"""Events the inventory app publishes."""
