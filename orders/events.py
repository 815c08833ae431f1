"""Events the orders app publishes."""
