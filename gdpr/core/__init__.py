"""The shared core every capability stands on: the data map and which rows are a subject's, the
database and its migrations, the models, the audit chain, roles and the one authorizer, keys and crypto,
masking, mail, settings, the ports the domain talks to the outside through."""
