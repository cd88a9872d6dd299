"""Cross-cutting web pieces: the request context, pages of the platform as a whole."""
