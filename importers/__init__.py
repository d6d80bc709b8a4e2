"""Importers write through the same services as the API (validation, slugs, visibility)."""
