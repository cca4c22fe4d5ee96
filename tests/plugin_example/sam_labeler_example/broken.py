"""A plugin that fails while it is imported: the application must report it and carry on."""
raise RuntimeError("this example plugin is broken on purpose")
