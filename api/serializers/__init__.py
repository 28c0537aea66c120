"""Shapes of the API's requests and responses, one module per resource.

Validation of input only: the rules live in the services.
"""
