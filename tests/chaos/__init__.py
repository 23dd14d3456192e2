"""The chaos harness: seeded random sequences over several companies, invariants checked against Go."""
