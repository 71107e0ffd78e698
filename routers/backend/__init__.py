"""The database backend of tenant aliases (`ENGINE: "routers.backend"`): budgeted, shared connections."""
