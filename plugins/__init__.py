"""Optional plugins shipped with the platform; each runs for the countries that enable it."""
