"""Actualiteit (T10): listings that are not verified for a long time are flagged, then hidden."""
