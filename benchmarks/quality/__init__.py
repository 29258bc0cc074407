"""Side-by-side optimization quality benchmark (``make bench-quality``): see ``run.py``."""
