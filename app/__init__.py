"""sociale-kaart: the social map of a municipality's voorzieningen."""
