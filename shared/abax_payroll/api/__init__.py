"""The HTTP API (API Gateway REST events through powertools): routes, auth from Cognito claims, problem+json."""
