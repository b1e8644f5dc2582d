"""Event listeners (none yet: App Home comes with a later issue)."""
