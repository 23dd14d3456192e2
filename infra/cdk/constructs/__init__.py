"""One construct per concern: data, secrets, functions, workflow, api, schedule, monitoring."""
