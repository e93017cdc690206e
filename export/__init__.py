"""Training, synthesis, export and evaluation of the shipped detector (not needed at run time)."""
