"""Connectors to social networks behind one interface (see ``base.Connector``).

A plain library: no Django models, configuration comes in as arguments.
"""
