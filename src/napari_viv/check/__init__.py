"""Checking: will Viv and Avivator open a file, and if not, why and how to fix it."""
