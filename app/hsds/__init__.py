"""Open Referral HSDS 3.0: read-only API under /hsds and the HSDS export."""
