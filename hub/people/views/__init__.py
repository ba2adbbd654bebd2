"""The people wing's pages, one blueprint per task."""
