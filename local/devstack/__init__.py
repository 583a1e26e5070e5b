"""The local stack: the SAM application on one machine, without an AWS account."""
