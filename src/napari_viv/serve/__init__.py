"""Serving: the range server, the viewer assets and the links that open them."""
