"""Every model family; ``generativa.registry.discover`` imports each module here."""
