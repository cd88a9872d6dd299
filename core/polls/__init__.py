"""AGM polls: secret ballots with receipts, one member one vote, recountable results."""
