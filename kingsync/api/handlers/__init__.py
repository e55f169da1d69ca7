"""Request handlers, one module per resource. routes.py maps paths and methods to them."""
