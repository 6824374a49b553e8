"""CRD models (pydantic) and the names of every label, annotation and condition."""
