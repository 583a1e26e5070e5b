"""What callers send, validated: shared by the HTTP API and the EventBridge triggers."""
