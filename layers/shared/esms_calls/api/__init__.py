"""HTTP: request and response models, problem answers, routes."""
