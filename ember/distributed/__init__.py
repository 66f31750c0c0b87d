"""ember.distributed: process groups and collectives on an existing engine (being built)."""
