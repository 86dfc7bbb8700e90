"""Tools for the repository itself (the documentation's generated reference)."""
