"""Editions (one yearly cycle, e.g. 2020-2021) and their calendar of phases per country."""
