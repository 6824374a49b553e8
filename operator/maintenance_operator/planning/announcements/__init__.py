"""A platform's announcement (`Maintenance`): which targets it makes pending, and how far it has got."""
