"""CLI sub-apps, one module per noun."""
