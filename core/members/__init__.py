"""Members, their roles, and the member register import."""
