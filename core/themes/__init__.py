"""Themes of an edition: board themes, member proposals with supports, moderation."""
