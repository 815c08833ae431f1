"""Events the subscriptions app publishes."""
