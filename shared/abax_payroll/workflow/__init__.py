"""Use cases: activation, configuration, preview, export steps and rollback, as plain functions over the ports."""
