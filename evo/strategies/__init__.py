"""Optimization strategies behind one ask/tell interface (see ``evo.strategies.base``)."""
