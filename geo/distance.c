/* geo/distance.c — great-circle distance (haversine), for proximity decisions. Pure;
 * used when a classifier is built, never per query. */
#include "config.h"

#include <math.h>

#include "geo/geo.h"

/* The mean Earth radius (IUGG), in km. */
#define EARTH_RADIUS_KM 6371.0088

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * EARTH_RADIUS_KM * asin(fmin(1.0, sqrt(a)));
}
