"""slicekit."""
