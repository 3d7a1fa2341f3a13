"""Metrics: the Prometheus reader, the trigger evaluator, the alerting rules."""
