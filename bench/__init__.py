"""The benchmark harness: `make bench` (python -m bench). Not tests: timing is proven here, never in tests."""
