"""What operators change while the platform runs: plugins per country and their options.

config.toml is the start-up default; a change made on the plugin page is stored here, audited,
and read by every worker and every machine sharing the database (``live``).
"""
