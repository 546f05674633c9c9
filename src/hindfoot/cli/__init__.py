"""The `hindfoot` command line: one module per domain, registered in `main.py`."""
