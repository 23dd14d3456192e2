"""Pure payroll rules: trips, logbooks, categories, rates, grouping and validation. No I/O."""
