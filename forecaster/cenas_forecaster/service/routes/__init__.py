"""One router per resource; app.py composes them."""
