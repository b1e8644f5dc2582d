"""The composition root: the only package that knows every adapter (settings -> database, Slack, broker,
mailer -> the domain's services), and the entry points built on it: the CLI, the demo, the console."""
