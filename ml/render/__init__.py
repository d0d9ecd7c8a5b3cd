"""Pictures for people: contact sheets and lookalike sheets (sheet)."""
