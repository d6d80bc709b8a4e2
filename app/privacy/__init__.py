"""Privacy (AVG): retention of personal data (docs/privacy.md "Bewaartermijnen")."""
