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

double vkl_softmax_bounds(double *bound, const float *x, const float *y, uint32_t n, double temperature)
{
    const double u = VKL_F32_UNIT_ROUNDOFF;
    double max = x[0], sum = 0.0, weighted = 0.0, worst = 0.0;
    for (uint32_t i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    for (uint32_t i = 0; i < n; i++) {
        double z = (max - x[i]) / temperature, e = exp(-z);
        sum += e;
        weighted += e * (6.0 + 7.0 * z) * u;
    }
    double eps_sum = vkl_sum_error_factor(n) + weighted / sum;
    for (uint32_t i = 0; i < n; i++) {
        double relative = (6.0 + 7.0 * (max - x[i]) / temperature) * u + eps_sum + 7.0 * u;
        bound[i] = relative * fabs(y[i]) + VKL_F32_TINY;
        worst = relative > worst ? relative : worst;
    }
    return worst;
}
