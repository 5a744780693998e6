// Floating-point error bounds shared by the kernels' checks. u is the unit roundoff of f32.
//
// Sums and dot products: a float sum of n terms t_i, accumulated in any order (serial, tree,
// subgroup, with or without fma), satisfies |computed - exact| <= gamma_n * sum |t_i| with
// gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical Algorithms, 3.1).
// That worst case grows with n and is too loose to notice a dropped term when n is large, so
// we use the probabilistic bound of Higham & Mary (SIAM J. Sci. Comput. 41(5), 2019):
// |error| <= lambda sqrt(n) u sum |t_i|, which holds for independent rounding errors with
// probability at least 1 - 2n exp(-lambda^2 (1-u)^2 / 2); lambda = 6 makes a false failure
// rarer than 1e-4 per element at n = 14336 (and far rarer in practice: the theorem is pessimistic).
// The factor used is the smaller of the two.
#ifndef VKLLM_BOUNDS_H
#define VKLLM_BOUNDS_H

#include <stdint.h>

#define VKL_F32_UNIT_ROUNDOFF 0x1p-24
#define VKL_BOUND_LAMBDA 6.0
// Smallest normal f32: results this small may be flushed to zero by the device.
#define VKL_F32_TINY 0x1p-126

// Relative error factor for a sum of n terms: min(gamma_n, lambda sqrt(n) u).
double vkl_sum_error_factor(uint64_t n);

// Per-element bound of a softmax over n values x computed as exp((x - max) / T) / sum in f32,
// with exp within 3 + 2|z| ulp (Vulkan): z_j = (x_j - max) / T carries 3u|z_j| and e_j = exp(z_j)
// relative error eps_j = (6 + 7|z_j|) u; the sum adds f(n) + sum_j e_j eps_j / sum; 1/sum, the
// product and the reference's rounding 7u. bound[i] = (eps_i + eps_sum + 7u) y_i.
// Returns the largest relative bound (bound / y) over the row.  bound (n) · x (n) · y (n)
double vkl_softmax_bounds(double *bound, const float *x, const float *y, uint32_t n, double temperature);

#endif
