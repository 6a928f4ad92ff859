"""Pure logic: spec -> plan, parsing, paths.  No root needed."""
