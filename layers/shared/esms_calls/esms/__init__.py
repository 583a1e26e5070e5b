"""The eSMS provider: the only place that speaks HTTP to it."""
