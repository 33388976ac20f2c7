"""Plotly figure builders by kind: the shared look, trends, bars, heat maps, funnels.

They only shape data the metrics layer computed; names, units and hover formats come
from :mod:`metrics.glossary`. Plotly reads HTML tags (<b>, <a href>) in axis and hover
text, so names that uploads control pass through :func:`ui.text.html_text`.
"""
