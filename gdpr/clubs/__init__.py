"""The clubs (the controllers): their API tokens, their delivery choice, download links, their
offboarding, and the record of processing (Art. 30(2)) as it concerns them."""
