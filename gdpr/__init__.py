"""The GDPR domain: requests, data map, export, audit, access control. Imports neither Slack nor Dramatiq."""
