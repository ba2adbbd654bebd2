"""The customers wing: one person across platforms, what they told us, their orders."""
