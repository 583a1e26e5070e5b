"""eSMS voice calls: the shared package behind both Lambda functions."""
