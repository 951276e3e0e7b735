"""The web layer: app factory, error mapping, pages and API blueprints."""
