"""A real local Bluesky network for tests and demos (see ``manager`` and ``cli``)."""
