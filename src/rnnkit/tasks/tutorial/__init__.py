"""The tutorial: the classic next-number exercise, as written and on rnnkit."""
