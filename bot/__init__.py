"""The Slack adapter: Bolt app, /gdpr grammar, interactive actions, Block Kit rendering."""
