"""The kernel every module stands on: configuration, database, API helpers and services."""
