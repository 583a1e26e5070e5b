"""One module per use case: the logic, free of HTTP and of boto3."""
