#include "host/bounds.h"

#include <math.h>

double vkl_sum_error_factor(uint64_t n)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    double nu = (double)n * u;
    double gamma = nu < 1.0 ? nu / (1.0 - nu) : INFINITY;
    double probabilistic = VKL_BOUND_LAMBDA * sqrt((double)n) * u;
    return gamma < probabilistic ? gamma : probabilistic;
}
