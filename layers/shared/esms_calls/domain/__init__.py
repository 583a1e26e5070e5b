"""Domain models: what a call is, independent of HTTP and of DynamoDB."""
