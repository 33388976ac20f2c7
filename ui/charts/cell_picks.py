"""Heat-map cells a click can pick.

Plotly selects points of traces that have points (markers, bars), never the cells of
a heat map, so Streamlit's ``on_select`` sees no click on one. An invisible square
marker is laid over every cell: it carries the cell's hover text and, last in its
``customdata``, the id of the cell's row, and a click on the cell selects it.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ui.charts.look import data_array

MARKER_PX = 18  # about a cell's height: a click anywhere near the cell's middle hits it


def pickable_cells(figure: go.Figure, row_ids: Sequence[str]) -> go.Figure:
    """``figure`` (one heat map, rows in the order of ``row_ids``) with a marker over
    each cell; the heat map itself no longer answers the hover (the marker does)."""
    heat = next(t for t in figure.data if t.type == "heatmap")
    columns = list(heat.x)
    custom = heat.customdata
    xs, ys, data = [], [], []
    for i, (row_label, row_id) in enumerate(zip(heat.y, row_ids, strict=True)):
        for j, column in enumerate(columns):
            xs.append(column)
            ys.append(row_label)
            cell = list(custom[i][j]) if custom is not None else []
            data.append([*cell, row_id])
    invisible = {"marker": {"opacity": 0}}
    figure.add_scatter(
        x=data_array(xs),
        y=data_array(ys),
        mode="markers",
        customdata=data_array(data),
        marker={"symbol": "square", "size": MARKER_PX, "opacity": 0},
        selected=invisible,
        unselected=invisible,
        hovertemplate=heat.hovertemplate,
        showlegend=False,
    )
    heat.hovertemplate = None
    heat.hoverinfo = "skip"
    return figure
