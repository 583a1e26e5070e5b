"""`esms-calls`: the command-line client of the calls API (local stack or a deployed API).

It speaks only HTTP to the API and is not shipped in the Lambda layer (layers/shared)."""
