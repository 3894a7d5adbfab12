"""The floor: data types, errors, settings and the bundled models' locations.

Every other part of citeqa imports these; they import nothing of citeqa above them.
"""
