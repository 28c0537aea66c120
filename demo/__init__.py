"""The embedded demo: composes each app's demo part. It may import every app; none imports it."""
