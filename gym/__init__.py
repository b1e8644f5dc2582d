"""The reference gym-management database the bot works on out of the box."""
