"""A local stand-in for Slack's Web API (tests, demo, console) and a signed-request driver."""
