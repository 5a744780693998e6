#version 450
#extension GL_GOOGLE_include_directive : require
// GELU, tanh approximation (GPT-2): y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Bindings: 0 x (n) · 1 y (n), f32.
//! variant default
//! variant texel -DTEXEL

// tanh as 1 - 2 / (exp(2z) + 1): stable at both ends, and its error follows from exp's
// documented precision (GLSL's tanh has none of its own). |z| <= 10 keeps exp finite;
// tanh(10) rounds to 1 in f32 anyway.
float tanh_stable(float z)
{
    z = clamp(z, -10.0, 10.0);
    return 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
}

float elementwise_op(float v)
{
    float z = 0.7978845608 * (v + 0.044715 * v * v * v);
    return 0.5 * v * (1.0 + tanh_stable(z));
}
#include "elementwise.glsl"
