"""The clubs' HTTP API: an entry point beside the Slack bot, on the same use cases (gdpr/app)."""
