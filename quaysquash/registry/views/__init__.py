"""Views of the OCI distribution API, one module per endpoint family."""
