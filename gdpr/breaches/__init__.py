"""Personal-data breaches: the register and its 72-hour clock, the configuration, the notices
to clubs and members, the member targets, the register file for the authority."""
