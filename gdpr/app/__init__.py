"""Use cases: what every entry point (Slack listeners, workers, the scheduler, later the clubs' API)
calls. Ids and plain values in, plain values out (masked or not, decided here), one unit of work each;
permissions checked by the Authorizer and every access audited here, never in an adapter."""
