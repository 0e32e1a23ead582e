"""Where a listing is, blurred: a point snapped to a grid, shown with a radius.

The grid is fixed (not centred on the member), so two listings of one author land on the same
cell centre and nothing finer than a cell can be learned by averaging them.
"""

from __future__ import annotations

import math

METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator
EARTH_RADIUS_KM = 6371.0088


def snap(latitude: float, longitude: float, cell_m: int) -> tuple[float, float]:
    """The centre of the grid cell (about ``cell_m`` metres wide) holding the point."""
    step_lat = cell_m / METRES_PER_DEGREE
    lat = (math.floor(latitude / step_lat) + 0.5) * step_lat
    lat = max(-90.0, min(90.0, lat))
    # Cells keep their width in metres: longitude steps widen towards the poles, by row.
    step_lon = cell_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    lon = (math.floor(longitude / step_lon) + 0.5) * step_lon
    lon = (lon + 180.0) % 360.0 - 180.0
    return round(lat, 6), round(lon, 6)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
