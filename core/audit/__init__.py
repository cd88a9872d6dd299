"""The audit log: an append-only, hash-chained record of what operators, the board and
facilitators did (and what the command line did). Never a ballot's content."""
