"""Reference data files and the `flask seed reference|demo|scale` commands."""
