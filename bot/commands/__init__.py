"""`/gdpr` subcommands on Slack, one module per capability (requests, breach, purges, grants, consent,
history, clubs, ropa): each handler calls the use cases it names in its signature and renders what they
return. `table.py` maps every command the grammar parses to its handler."""
