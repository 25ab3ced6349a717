"""The contract at run time: resolving operationIds, validating requests,
problems, the served documents; and what `stores-api openapi` checks."""
