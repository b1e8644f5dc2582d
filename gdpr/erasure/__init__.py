"""Erasure and its proof: the engine that anonymises or deletes a subject's rows, the erasure job,
the residue check, k-anonymity of what stays, the ledger a restore replays, the Art. 19 notices, every
store the bot writes about a subject."""
