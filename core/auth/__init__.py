"""Sign-in: one-time links, passwords, server-side sessions, CSRF, rate limits."""
