"""The HTTP service: FastAPI app, routes, engine, metrics."""
