"""HTTP routes of the prediction server, one module per concern."""
