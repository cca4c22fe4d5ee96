"""Plugin API and built-in plugins (discovered by entry points); none ship yet."""
